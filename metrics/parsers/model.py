"""Result dataclasses shared by every parser.

All figures are plain Python numbers so `to_dict()` output can go straight into JSON (datetimes
become ISO-8601 strings). Times are milliseconds, rates are per second, error rates are 0..1.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime


def _plain(value):
    """Convert dataclasses, datetimes and containers into JSON-serialisable values."""
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


class _ToDict:
    def to_dict(self) -> dict:
        """Return a JSON-serialisable dict of every field (datetimes as ISO strings)."""
        return {f.name: _plain(getattr(self, f.name)) for f in fields(self)}


@dataclass
class Stats(_ToDict):
    """Request figures for one scope (the whole run, a scenario or an endpoint).

    `error_rate` is failed/requests (0 when there are no requests). Latency fields are None when
    the source does not carry them (e.g. p99 absent from a k6 summary export).
    """

    requests: int = 0
    failed: int = 0
    error_rate: float = 0.0
    rps: float = 0.0
    p50_ms: float | None = None
    p90_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None
    max_ms: float | None = None
    avg_ms: float | None = None
    min_ms: float | None = None
    timeouts: int = 0


@dataclass(slots=True)
class SeriesPoint(_ToDict):
    """One second of the run: requests and failures ended in that second, their p95, the VUs."""

    t: int
    requests: int = 0
    failures: int = 0
    p95_ms: float | None = None
    vus: int | None = None


@dataclass
class RunResult(_ToDict):
    """Everything one load-test result file says, in tool-neutral form (see docs/ingestion.md)."""

    tool: str
    format: str
    complete: bool = True
    incomplete_reason: str | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    duration_s: float | None = None
    overall: Stats = field(default_factory=Stats)
    scenarios: dict[str, Stats] = field(default_factory=dict)
    endpoints: dict[str, Stats] = field(default_factory=dict)
    series: list[SeriesPoint] = field(default_factory=list)
    checks: dict[str, dict] = field(default_factory=dict)
    checks_rate: float | None = None
    groups: dict[str, dict] = field(default_factory=dict)
    thresholds: list[dict] = field(default_factory=list)
    metrics: dict[str, dict[str, float]] = field(default_factory=dict)
    timeout_breakdown: dict[str, int] = field(default_factory=dict)
    lines: int = 0
    warnings: list[str] = field(default_factory=list)
    encoding: str | None = None  # when the file's text was not UTF-8: the encoding guessed


def overall_metrics(res: RunResult) -> None:
    """k6-named metrics from the overall figures, for the formats that have no metrics of
    their own (Locust, JMeter): thresholds and criteria read `http_req_duration` etc. alike."""
    o = res.overall
    res.metrics["http_reqs"] = {"count": o.requests, "rate": o.rps}
    res.metrics["http_req_failed"] = {
        "rate": o.error_rate,
        "passes": o.failed,
        "fails": o.requests - o.failed,
    }
    trend = {
        "avg": o.avg_ms,
        "min": o.min_ms,
        "med": o.p50_ms,
        "max": o.max_ms,
        "p(90)": o.p90_ms,
        "p(95)": o.p95_ms,
        "p(99)": o.p99_ms,
    }
    res.metrics["http_req_duration"] = {k: v for k, v in trend.items() if v is not None}
    users = [p.vus for p in res.series if p.vus is not None]
    if users:
        res.metrics["vus"] = {"value": users[-1], "min": min(users), "max": max(users)}
