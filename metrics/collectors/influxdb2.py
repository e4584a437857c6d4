"""InfluxDB 2.x: Flux through influxdb-client's QueryApi, reading what xk6-output-influxdb
writes (measurement = k6 metric name, field `value`, k6 tags as tags).

Config (what a launch plan declares; secrets stay in environment variables):

    url_env     required  variable holding the base URL, e.g. https://influx.internal:8086
    token_env   required  variable holding an API token with read access to the bucket
    org         required  organization name or ID
    bucket      required  e.g. "k6"
    where       optional  tag filters for every metric, e.g. {"testid": "rc1"}
    step_s      optional  chart step in seconds, default 10
    metrics     required  {key: {"measurement": "http_req_duration", "field": "value" (default),
                                 "where": {"scenario": "peak"}}}

How it is tested: no InfluxDB 2 server can be installed on our machines (Debian ships only 1.x),
so tests/metrics/collectors/test_influxdb2.py serves recorded answers in the annotated-CSV
format that the InfluxDB 2 API documents (tests/fixtures/influxdb2/) from a small local HTTP
server, so that this module and the real influxdb-client code (HTTP, CSV parsing, errors) run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import urllib3
from influxdb_client import InfluxDBClient
from influxdb_client.client.flux_csv_parser import FluxCsvParserException, FluxQueryException
from influxdb_client.rest import ApiException

from . import flux
from .aggregates import parse_aggregate
from .envvars import base_url, display_url, env_value
from .httperrors import status_error, transport_error
from .influxql import Selection
from .retry import Deadline, call_with_retry
from .timeutil import as_utc, utcnow
from .types import PollResult, Query, Reading, SourceError

DEFAULT_STEP_S = 10


@dataclass(frozen=True)
class _Connection:
    url: str
    token: str
    org: str
    bucket: str
    what: str


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
    if not queries:
        return PollResult(readings=[], alarms=[], polled_at=utcnow())
    plans = [_plan(config, query) for query in queries]
    step_s = int(config.get("step_s", DEFAULT_STEP_S))
    text = flux.script(connection.bucket, plans, now, chart_window_s, step_s)
    deadline = Deadline(timeout_s)
    records = call_with_retry(lambda: _query(connection, text, deadline), deadline)
    readings = [
        _reading(query, records, f"q{i}", connection.what) for i, query in enumerate(queries)
    ]
    return PollResult(readings=readings, alarms=[], polled_at=utcnow())


def _connection(config: Mapping, env: Mapping[str, str]) -> _Connection:
    url, token = env_value(env, config["url_env"]), env_value(env, config["token_env"])
    for variable, value in ((config["url_env"], url), (config["token_env"], token)):
        if value is None:
            raise SourceError("config", f"set {variable} to enable this source")
    url = base_url(url, config["url_env"], "the InfluxDB server")
    what = f"InfluxDB at {display_url(url)}"
    return _Connection(url, token, config["org"], config["bucket"], what)


def _plan(config: Mapping, query: Query) -> flux.Plan:
    metric = config["metrics"][query.metric]
    where = {**config.get("where", {}), **metric.get("where", {})}
    selection = Selection(
        measurement=metric["measurement"],
        field=metric.get("field", "value"),
        where=tuple(sorted(where.items())),
    )
    return flux.Plan(selection, parse_aggregate(query.aggregate), query.window_s)


def _query(connection: _Connection, text: str, deadline: Deadline) -> dict[str, list]:
    """Run the script within what is left of the deadline; {result name: [record values]}."""
    remaining_ms = deadline.remaining() * 1000
    if remaining_ms <= 0:
        raise SourceError(
            "timeout", f"{connection.what} did not answer within {deadline.seconds:g} s"
        )
    # One number: influxdb-client makes it urllib3's total (connect + read) timeout.
    timeout = remaining_ms
    client = InfluxDBClient(
        url=connection.url,
        token=connection.token,
        org=connection.org,
        timeout=timeout,
        retries=False,
    )
    try:
        tables = client.query_api().query(text, org=connection.org)
        return _by_result(tables, connection.what)
    except ApiException as error:
        raise _api_error(error, connection) from error
    except FluxQueryException as error:
        raise _flux_error(error, connection) from error
    except (urllib3.exceptions.HTTPError, OSError) as error:
        raise transport_error(error, connection.what, deadline.seconds) from error
    except (FluxCsvParserException, ValueError, KeyError, IndexError, TypeError) as error:
        message = f"{connection.what} answered with something that is not Flux CSV"
        raise SourceError("bad_response", message, detail=repr(error)[:300]) from error
    finally:
        client.close()


def _by_result(tables, what: str) -> dict[str, list]:
    records: dict[str, list] = {}
    for table in tables:
        for record in table.records:
            name = record.values.get("result")
            if not isinstance(name, str):
                raise SourceError("bad_response", f"{what} answered without result names")
            records.setdefault(name, []).append(record.values)
    return records


def _api_error(error: ApiException, connection: _Connection) -> SourceError:
    if error.status == 0:  # the client reports TLS failures this way
        message = f"{connection.what} failed the TLS handshake"
        return SourceError("unreachable", message, retryable=False, detail=str(error.reason))
    text = str(getattr(error, "message", "") or error.reason or "")
    if error.status == 404:
        message = (
            f"{connection.what} has no bucket '{connection.bucket}'"
            f" in organization '{connection.org}'"
        )
        return SourceError("not_found", message, detail=f"HTTP 404: {text[:300]}")
    return status_error(int(error.status or 0), text, connection.what)


def _flux_error(error: FluxQueryException, connection: _Connection) -> SourceError:
    """An error table inside an HTTP 200 answer."""
    text = str(error.message)
    detail = f"flux error: {text[:300]}"
    if "could not find bucket" in text or "bucket not found" in text:
        message = f"{connection.what} has no bucket '{connection.bucket}'"
        return SourceError("not_found", message, detail=detail)
    return SourceError("bad_response", f"{connection.what} could not run the query", detail=detail)


def _reading(query: Query, records: dict[str, list], name: str, what: str) -> Reading:
    values = records.get(f"{name}_value", [])
    counts = records.get(f"{name}_count", [])
    newest = records.get(f"{name}_last", [])
    if len(values) > 1 or len(counts) > 1 or len(newest) > 1:
        raise SourceError("bad_response", f"{what} answered with more than one group")
    count = int(_number(counts[0].get("_value"), what) or 0) if counts else 0
    value = _number(values[0].get("_value"), what) if values and count else None
    return Reading(
        metric=query.metric,
        aggregate=query.aggregate,
        window_s=query.window_s,
        value=value,
        count=count,
        at=_time(newest[0].get("_time"), what) if newest else None,
        series=_series(records.get(f"{name}_series", []), what),
    )


def _series(rows: list, what: str) -> list[tuple[datetime, float]]:
    points = [(_time(row.get("_time"), what), _number(row.get("_value"), what)) for row in rows]
    return sorted((t, v) for t, v in points if v is not None)


def _number(value: object, what: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SourceError("bad_response", f"{what} answered with a value that is not a number")
    return float(value)


def _time(value: object, what: str) -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise SourceError("bad_response", f"{what} answered with a time we could not read")
    return as_utc(value)
