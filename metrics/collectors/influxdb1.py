"""InfluxDB 1.x: InfluxQL over HTTP, reading what `k6 run --out influxdb=http://host:8086/k6`
writes (measurement = metric name, float field `value`, tags such as scenario, name, method,
status, testid; `url` is a string field).

Config (what a launch plan declares; secrets stay in environment variables):

    url_env           required  variable holding the base URL, e.g. http://influx.internal:8086
    database          required  e.g. "k6"
    username_env      optional  variable holding the user name (basic auth) ...
    password_env      optional  ... and the password; both or neither
    retention_policy  optional  default: the database's default policy
    where             optional  tag filters for every metric, e.g. {"testid": "rc1"}
    step_s            optional  chart step in seconds, default 10
    metrics           required  {key: {"measurement": "http_req_duration",
                                       "field": "value" (default), "where": {"scenario": "peak"}}}

A poll sends every statement of every Query in one POST /query (form body, so no URL length
limit and no query text in proxy access logs) with `epoch=ms`, and fails on any per-statement
error even though InfluxDB answers those with HTTP 200.

Percentiles: InfluxQL percentile() is nearest-rank (the sorted point at index
int(n*p/100 + 0.5) - 1), while k6 interpolates between the closest ranks; where the samples are
sparse (a slow tail) the two differ by more than 1%. So a second statement per percentile asks
for exactly the two samples k6 interpolates between (influxql.closest_ranks), and the live p(95)
on the page is k6's own figure (tests/metrics/collectors/test_influxdb1_k6.py checks it against
a real k6 run). Should points land in the window between the two round trips, the counts differ
and the nearest-rank figure stands until the next poll. The chart's per-step series stay
nearest-rank (one statement for the whole chart).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from urllib.parse import urlencode

import urllib3

from . import influxql
from .aggregates import parse_aggregate
from .envvars import base_url, display_url, env_value
from .httperrors import status_error, transport_error
from .retry import Deadline, call_with_retry
from .timeutil import from_ms, to_ns, utcnow
from .types import PollResult, Query, Reading, SourceError

DEFAULT_STEP_S = 10
CONNECT_TIMEOUT_S = 2.0
MAX_RESPONSE_BYTES = 16 * 1024 * 1024
_CHUNK = 64 * 1024


@dataclass(frozen=True)
class _Connection:
    url: str
    what: str  # "InfluxDB at http://host:8086": how messages name the server
    headers: dict


def poll(
    config: Mapping,
    queries: Sequence[Query],
    *,
    now: datetime,
    chart_window_s: int,
    env: Mapping[str, str],
    timeout_s: float,
) -> PollResult:
    """One poll; see metrics.collectors.poll for the contract."""
    connection = _connection(config, env)
    statements = [
        statement
        for query in queries
        for statement in _statements(config, query, now, chart_window_s)
    ]
    results: list[dict] = []
    deadline = Deadline(timeout_s)
    if statements:
        results = call_with_retry(
            lambda: _request(connection, config["database"], statements, deadline), deadline
        )
    readings = [
        _reading(query, results[3 * i : 3 * i + 3], connection.what)
        for i, query in enumerate(queries)
    ]
    _interpolate_percentiles(connection, config, queries, readings, now, deadline)
    return PollResult(readings=readings, alarms=[], polled_at=utcnow())


def _interpolate_percentiles(connection, config, queries, readings, now, deadline) -> None:
    """Replace nearest-rank percentiles by k6's interpolation, in one more round trip."""
    todo = []
    for i, (query, reading) in enumerate(zip(queries, readings, strict=True)):
        aggregate = parse_aggregate(query.aggregate)
        if aggregate.name == "p" and reading.value is not None and (reading.count or 0) >= 2:
            todo.append((i, aggregate.percentile))
    if not todo:
        return
    statements = []
    for i, percentile in todo:
        selection, window = _selection_window(config, queries[i], now, 0)
        statements.append(influxql.closest_ranks(selection, percentile, readings[i].count, window))
    results = call_with_retry(
        lambda: _request(connection, config["database"], statements, deadline), deadline
    )
    for (i, percentile), result in zip(todo, results, strict=True):
        rows = _rows(result, connection.what, columns=4)  # time, lo, hi, n
        if not rows:
            continue
        low, high, n = (_number(v, connection.what) for v in rows[0][1:])
        if low is None or high is None or n != readings[i].count:
            continue  # points arrived in between: nearest rank until the next poll
        position = percentile / 100 * (n - 1)
        readings[i] = replace(readings[i], value=low + (high - low) * (position - int(position)))


def _connection(config: Mapping, env: Mapping[str, str]) -> _Connection:
    url = env_value(env, config["url_env"])
    if url is None:
        raise SourceError("config", f"set {config['url_env']} to enable this source")
    url = base_url(url, config["url_env"], "the InfluxDB server")
    headers = {"Accept": "application/json", "User-Agent": "launchboard-collector"}
    user = env_value(env, config.get("username_env"))
    if user is not None:
        password = env.get(config.get("password_env") or "", "")
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        headers["Authorization"] = f"Basic {token}"
    return _Connection(url=url, what=f"InfluxDB at {display_url(url)}", headers=headers)


def _statements(config: Mapping, query: Query, now: datetime, chart_window_s: int) -> list[str]:
    selection, window = _selection_window(config, query, now, chart_window_s)
    return influxql.statements(selection, parse_aggregate(query.aggregate), window)


def _selection_window(config: Mapping, query: Query, now: datetime, chart_window_s: int):
    metric = config["metrics"][query.metric]
    where = {**config.get("where", {}), **metric.get("where", {})}
    selection = influxql.Selection(
        measurement=metric["measurement"],
        field=metric.get("field", "value"),
        where=tuple(sorted(where.items())),
        retention_policy=config.get("retention_policy"),
    )
    end_ns = to_ns(now)
    window = influxql.Window(
        start_ns=end_ns - query.window_s * 10**9,
        end_ns=end_ns,
        chart_start_ns=end_ns - chart_window_s * 10**9,
        step_s=int(config.get("step_s", DEFAULT_STEP_S)),
    )
    return selection, window


def _request(
    connection: _Connection, database: str, statements: list[str], deadline: Deadline
) -> list[dict]:
    try:
        return _run(connection, database, statements, deadline)
    except _NotExecuted:
        # InfluxDB 1.x answers a multi-statement query whose first statement fails (unknown
        # database, say) with one "not executed" and drops the cause: ask for it alone.
        _run(connection, database, statements[:1], deadline)
        message = f"{connection.what} did not run the query"
        raise SourceError("bad_response", message, detail="not executed") from None


class _NotExecuted(Exception):
    pass


def _run(
    connection: _Connection, database: str, statements: list[str], deadline: Deadline
) -> list[dict]:
    body = urlencode({"db": database, "q": ";\n".join(statements), "epoch": "ms"})
    headers = {**connection.headers, "Content-Type": "application/x-www-form-urlencoded"}
    status, raw = _post(connection, f"{connection.url}/query", body, headers, deadline)
    if status != 200:
        raise status_error(status, _server_error_text(raw), connection.what)
    return _results(raw, len(statements), database, connection.what)


def _post(
    connection: _Connection, url: str, body: str, headers: dict, deadline: Deadline
) -> tuple[int, bytes]:
    """POST within what is left of the deadline; (status, body). Transport errors -> SourceError."""
    remaining = deadline.remaining()
    if remaining <= 0:
        raise SourceError(
            "timeout", f"{connection.what} did not answer within {deadline.seconds:g} s"
        )
    # total: connecting and reading share what is left; connect alone gets at most 2 s.
    timeout = urllib3.Timeout(total=remaining, connect=min(CONNECT_TIMEOUT_S, remaining))
    pool = urllib3.PoolManager(retries=False, timeout=timeout)
    try:
        response = pool.request(
            "POST", url, body=body, headers=headers, redirect=False, preload_content=False
        )
        try:
            return response.status, _read_capped(response, deadline, connection.what)
        finally:
            response.release_conn()
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        raise transport_error(exc, connection.what, deadline.seconds) from exc
    finally:
        pool.clear()


def _read_capped(response, deadline: Deadline, what: str) -> bytes:
    """Read the body in chunks, giving up at the deadline or past MAX_RESPONSE_BYTES."""
    chunks, size = [], 0
    while chunk := response.read(_CHUNK):
        size += len(chunk)
        if size > MAX_RESPONSE_BYTES:
            raise SourceError("bad_response", f"{what} sent an answer larger than 16 MiB")
        if deadline.expired():
            message = f"{what} did not finish answering within {deadline.seconds:g} s"
            raise SourceError("timeout", message)
        chunks.append(chunk)
    return b"".join(chunks)


def _server_error_text(raw: bytes) -> str:
    try:
        doc = json.loads(raw)
    except ValueError:
        return raw[:300].decode("utf-8", "replace")
    return str(doc.get("error", doc)) if isinstance(doc, dict) else str(doc)


def _results(raw: bytes, expected: int, database: str, what: str) -> list[dict]:
    """The per-statement results in statement order; SourceError for any statement error."""
    garbage = SourceError("bad_response", f"{what} answered with something that is not InfluxDB")
    try:
        doc = json.loads(raw)
    except ValueError:
        raise garbage from None
    results = doc.get("results") if isinstance(doc, dict) else None
    if not isinstance(results, list) or not all(isinstance(r, dict) for r in results):
        raise garbage
    _raise_statement_errors(results, database, what)
    ids = [r.get("statement_id") for r in results]
    if sorted(i for i in ids if isinstance(i, int)) != list(range(expected)):
        raise garbage
    return sorted(results, key=lambda r: r["statement_id"])


def _raise_statement_errors(results: list[dict], database: str, what: str) -> None:
    errors = [str(r["error"]) for r in results if "error" in r]
    causes = [text for text in errors if text != "not executed"]
    if causes:
        raise _statement_error(causes[0], database, what)
    if errors:
        raise _NotExecuted()


def _statement_error(text: str, database: str, what: str) -> SourceError:
    """InfluxDB reports these with HTTP 200, one per statement."""
    detail = f"statement error: {text[:300]}"
    if text.startswith("database not found"):
        return SourceError("not_found", f"{what} has no database '{database}'", detail=detail)
    if text.startswith("retention policy not found"):
        message = f"{what} has no such retention policy in '{database}'"
        return SourceError("not_found", message, detail=detail)
    if "not authorized" in text or "authorization" in text:
        return SourceError("auth", f"{what} refused to let us read '{database}'", detail=detail)
    if "timeout" in text:
        return SourceError("timeout", f"{what} gave up on the query (query timeout)", detail=detail)
    return SourceError("bad_response", f"{what} could not run the query", detail=detail)


def _reading(query: Query, results: list[dict], what: str) -> Reading:
    aggregate_rows = _rows(results[0], what, columns=3)  # time, v, n
    newest_rows = _rows(results[1], what, columns=2)  # time, v
    series_rows = _rows(results[2], what, columns=2)
    value = _number(aggregate_rows[0][1], what) if aggregate_rows else None
    count = int(_number(aggregate_rows[0][2], what) or 0) if aggregate_rows else 0
    at = _time(newest_rows[0][0], what) if newest_rows else None
    series = [
        (_time(row[0], what), float(v))
        for row in series_rows
        if (v := _number(row[1], what)) is not None
    ]
    return Reading(
        metric=query.metric,
        aggregate=query.aggregate,
        window_s=query.window_s,
        value=value if count else None,
        count=count,
        at=at,
        series=series,
    )


def _rows(result: dict, what: str, columns: int) -> list[list]:
    """The rows of a statement's only series ([] when the window held no points)."""
    series = result.get("series")
    if series is None:
        return []
    if not isinstance(series, list) or len(series) != 1 or not isinstance(series[0], dict):
        raise SourceError("bad_response", f"{what} answered with an unexpected shape")
    rows = series[0].get("values")
    if not isinstance(rows, list):
        raise SourceError("bad_response", f"{what} answered with an unexpected shape")
    if not all(isinstance(row, list) and len(row) == columns for row in rows):
        raise SourceError("bad_response", f"{what} answered with an unexpected shape")
    return rows


def _number(value: object, what: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SourceError("bad_response", f"{what} answered with a value that is not a number")
    return float(value)


def _time(value: object, what: str) -> datetime:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SourceError("bad_response", f"{what} answered with a time that is not epoch ms")
    try:
        return from_ms(value)
    except (OverflowError, ValueError):
        raise SourceError("bad_response", f"{what} answered with an impossible time") from None
