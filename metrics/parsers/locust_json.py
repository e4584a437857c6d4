"""Locust 2.x JSON stats (`locust --json` on stdout, `--json-file NAME` -> NAME.json): an array
of per-endpoint entries, each with its response-time histogram.

Each entry holds `response_times` (Locust's rounded response time in ms -> how many requests
took it), `num_requests`, `num_failures`, `num_none_requests`, the totals and the start and
last-request times. overall = every entry merged, as Locust's Aggregated row is; endpoints =
the entries keyed "METHOD name"; one scenario "default". Percentiles are computed from the
histograms exactly as Locust computes its own (`calculate_response_time_percentile`): walk the
rounded times from the largest down until the requests left fall to the percentile's share.
Locust rounds times before counting them (to 10 ms above 100 ms, 100 ms above 1 s), so these are
Locust's own figures, equal to its CSV's, not percentiles of the raw samples.
"""

from __future__ import annotations

import os
from collections import Counter
from datetime import UTC, datetime

import orjson

from .errors import ParseError
from .model import RunResult, Stats, overall_metrics
from .reader import Progress, read_all, report

MAX_JSON = 64 << 20
REQUIRED = ("name", "method", "num_requests", "num_failures", "response_times")
ROUNDED = (
    "Locust rounds response times before counting them (to 10 ms above 100 ms, to 100 ms "
    "above 1 s): the percentiles are Locust's own, from its rounded histogram, not percentiles "
    "of the raw samples."
)


def locust_percentile(times: Counter, requests: int, percent: float) -> int:
    """Locust's calculate_response_time_percentile: the rounded time below which all but the
    percentile's share of ``requests`` fall, walking down from the largest."""
    share = int(requests * percent)
    seen = 0
    for rounded in sorted(times, reverse=True):
        seen += times[rounded]
        if requests - seen <= share:
            return rounded
    return 0  # every request had no time


def _entries(data: object) -> list[dict]:
    if not isinstance(data, list) or not data:
        raise ParseError("a JSON array that is not Locust's --json stats (it is empty)")
    for i, entry in enumerate(data):
        missing = [k for k in REQUIRED if not isinstance(entry, dict) or k not in entry]
        if missing:
            raise ParseError(
                f"a JSON array that is not Locust's --json stats: entry {i + 1} has no "
                f"{', '.join(missing)}"
            )
        if not isinstance(entry["response_times"], dict):
            raise ParseError(f"Locust JSON entry {i + 1}: response_times is not an object")
    return data


def _histogram(entry: dict, index: int) -> Counter:
    times: Counter = Counter()
    for key, count in entry["response_times"].items():
        try:
            times[int(float(key))] += int(count)
        except (TypeError, ValueError):
            raise ParseError(
                f"Locust JSON entry {index + 1}: response time {key!r}: {count!r} is not a number"
            ) from None
    return times


def _stats(times: Counter, requests: int, failed: int, none: int, totals: dict, span: float):
    timed = requests - none
    pct = {p: locust_percentile(times, timed, p / 100) if timed else None for p in (50, 90, 95, 99)}
    return Stats(
        requests=requests,
        failed=failed,
        error_rate=failed / requests if requests else 0.0,
        rps=requests / span if span > 0 else 0.0,
        p50_ms=pct[50],
        p90_ms=pct[90],
        p95_ms=pct[95],
        p99_ms=pct[99],
        max_ms=totals["max"],
        avg_ms=totals["total"] / timed if timed else None,
        min_ms=totals["min"],
    )


def parse_locust_json(path: str | os.PathLike, progress: Progress | None = None) -> RunResult:
    raw = read_all(path, MAX_JSON)
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ParseError(f"not valid JSON: {exc}") from None
    entries = _entries(data)
    starts = [e["start_time"] for e in entries if isinstance(e.get("start_time"), int | float)]
    lasts = [
        e["last_request_timestamp"]
        for e in entries
        if isinstance(e.get("last_request_timestamp"), int | float)
    ]
    # Locust's requests/s: over the whole run (its stats' start to its last request), per row
    span = (max(lasts) - min(starts)) if starts and lasts else 0.0
    res = RunResult(tool="locust", format="locust-json", lines=raw.count(b"\n") + 1)
    merged: Counter = Counter()
    total = {"requests": 0, "failed": 0, "none": 0, "total": 0.0, "max": None, "min": None}
    for i, entry in enumerate(entries):
        times = _histogram(entry, i)
        requests, failed = int(entry["num_requests"]), int(entry["num_failures"])
        none = int(entry.get("num_none_requests") or 0)
        totals = {
            "total": float(entry.get("total_response_time") or 0.0),
            "max": entry.get("max_response_time"),
            "min": entry.get("min_response_time"),
        }
        key = f"{entry['method']} {entry['name']}".strip()
        res.endpoints[key] = _stats(times, requests, failed, none, totals, span)
        merged.update(times)
        total["requests"] += requests
        total["failed"] += failed
        total["none"] += none
        total["total"] += totals["total"]
        for bound, pick in (("max", max), ("min", min)):
            if totals[bound] is not None:
                was = total[bound]
                total[bound] = totals[bound] if was is None else pick(was, totals[bound])
    if not total["requests"]:
        raise ParseError("no HTTP requests in this run")
    res.overall = _stats(merged, total["requests"], total["failed"], total["none"], total, span)
    res.scenarios = {"default": res.overall}
    if starts and lasts:
        res.started_at = datetime.fromtimestamp(min(starts), UTC)
        res.ended_at = datetime.fromtimestamp(max(lasts), UTC)
        res.duration_s = span
    res.warnings.append(ROUNDED)
    overall_metrics(res)
    if progress is not None:
        report(progress, len(raw), len(raw), res.lines)
    return res
