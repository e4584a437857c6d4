"""From stored runs to the one number a criterion is judged on. Pure functions over rows."""

from __future__ import annotations

from .parsers import SeriesPoint, latency_drift, spike_recovery

# k6 metric + aggregate -> the Stats field that holds it (for any tool's run).
STATS_FIELDS = {
    "http_req_failed": {"rate": "error_rate", "count": "failed", "passes": "failed"},
    "http_reqs": {"count": "requests", "rate": "rps"},
    "http_req_duration": {
        "med": "p50_ms",
        "p(50)": "p50_ms",
        "p(90)": "p90_ms",
        "p(95)": "p95_ms",
        "p(99)": "p99_ms",
        "max": "max_ms",
        "avg": "avg_ms",
        "min": "min_ms",
    },
    "connection_timeouts": {"count": "timeouts", "value": "timeouts"},
}
DERIVED = ("recovery_time", "latency_drift")


def series_points(columns: dict) -> list[SeriesPoint]:
    names = ("t", "requests", "failures", "p95_ms", "vus")
    rows = zip(*(columns.get(n, []) for n in names), strict=False)
    return [SeriesPoint(*row) for row in rows]


def _scope(run, params: dict) -> tuple[dict | None, str]:
    if params.get("endpoint"):
        name = params["endpoint"]
        return (run.endpoints or {}).get(name), f"endpoint {name}"
    if params.get("scenario"):
        name = params["scenario"]
        return (run.scenarios or {}).get(name), f"scenario {name}"
    return run.overall or None, "the run"


def run_value(run, metric: str, aggregate: str, params: dict, series: dict | None):
    """(value, why-not): the figure of ``run`` a criterion on ``metric``/``aggregate`` needs."""
    if metric in DERIVED:
        return _derived(metric, params, series_points(series or {}))
    if metric == "checks" and aggregate == "rate" and run.checks_rate is not None:
        return run.checks_rate, ""
    if metric in STATS_FIELDS and aggregate in STATS_FIELDS[metric]:
        stats, where = _scope(run, params)
        if stats is None:
            return None, f"{where} is not in this run"
        value = stats.get(STATS_FIELDS[metric][aggregate])
        return value, "" if value is not None else f"{aggregate} is not in this {run.tool} file"
    value = (run.metrics or {}).get(metric, {}).get(aggregate)
    if value is None:
        return None, f"the run has no {aggregate} of {metric}"
    return value, ""


def _derived(metric: str, params: dict, points: list[SeriesPoint]):
    if metric == "recovery_time":
        result = spike_recovery(
            points,
            p95_limit_ms=float(params.get("p95_ms", 400)),
            error_rate_limit=float(params.get("error_rate", 0.01)),
            hold_s=int(params.get("hold_s", 5)),
        )
        return result.seconds, result.why
    drift = latency_drift(points)
    return (None if drift.pct is None else drift.pct / 100), drift.why
