"""The values a collector takes and returns. Plain dataclasses: no Django, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

KINDS = ("influxdb1", "influxdb2", "cloudwatch", "cloudwatch-alarms")

ERROR_KINDS = frozenset(
    {"unreachable", "timeout", "auth", "throttled", "bad_response", "not_found", "config"}
)
# Worth polling again soon: the next poll may well succeed without anyone changing anything.
_RETRYABLE_BY_DEFAULT = frozenset({"unreachable", "timeout", "throttled"})

ALARM_STATES = ("OK", "ALARM", "INSUFFICIENT_DATA", "MISSING")


class SourceError(Exception):
    """One poll of one source failed.

    `kind` is one of ERROR_KINDS; `message` is one plain sentence for a stakeholder and never
    holds a secret; `retryable` says whether polling again soon may succeed unchanged;
    `detail` is technical text for logs (exception type, server error text, AWS request id),
    also free of secrets.
    """

    def __init__(
        self, kind: str, message: str, *, retryable: bool | None = None, detail: str = ""
    ) -> None:
        if kind not in ERROR_KINDS:
            raise ValueError(f"unknown SourceError kind {kind!r}")
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.retryable = kind in _RETRYABLE_BY_DEFAULT if retryable is None else retryable
        self.detail = detail

    def __repr__(self) -> str:
        return f"SourceError({self.kind!r}, {self.message!r}, retryable={self.retryable})"


@dataclass(frozen=True)
class SourceSpec:
    """A live source as a launch plan declares it; `config` holds no secrets (see validation)."""

    key: str
    kind: str
    config: dict


@dataclass(frozen=True)
class Query:
    """`aggregate` of metric `metric` over the last `window_s` seconds before `now`."""

    metric: str
    aggregate: str
    window_s: int


@dataclass
class Reading:
    """One Query's answer. `value` None means no data in the window: never a pass.

    `count` is how many points (InfluxDB) or datapoints (CloudWatch) the value was computed
    from; `at` is the time of the newest of them; `series` is the same aggregate per step over
    the chart window, oldest first, for charts.
    """

    metric: str
    aggregate: str
    window_s: int
    value: float | None
    count: int | None
    at: datetime | None
    series: list[tuple[datetime, float]] = field(default_factory=list)


@dataclass
class AlarmState:
    """A CloudWatch alarm. `state` "MISSING" means no alarm by that name exists."""

    name: str
    state: str
    reason: str
    updated_at: datetime
    metric: str | None = None
    threshold: float | None = None
    comparison: str | None = None


@dataclass
class PollResult:
    readings: list[Reading]
    alarms: list[AlarmState]
    polled_at: datetime


DEFAULT_WINDOW_S = 300  # a live criterion without "over ..." is judged on the last 5 minutes


def window_of(source_kind: str, window_s: int | None) -> int:
    """The window a query covers: an alarm has none (its state is now), a metric its criterion's
    "over ..." or the default."""
    if source_kind == "cloudwatch-alarms":
        return 0
    return window_s or DEFAULT_WINDOW_S
