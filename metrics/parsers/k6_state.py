"""Aggregation state for k6 NDJSON: per-scope histograms, per-second series, generic metrics.

Memory is bounded by the number of distinct scopes (capped), the run's length in seconds and
the sample rate of a few seconds, never by the number of samples.
"""

from __future__ import annotations

import math
from array import array

from .hist import Hist, SignedHist, exact_percentile
from .k6_time import BadValue
from .model import SeriesPoint
from .timeouts import k6_timeout_label

MAX_ENDPOINTS = 1000  # beyond this, endpoints are pooled (unnamed URLs explode cardinality)
MAX_GROUPS = 1000
MAX_LEAVES = 20_000  # (scenario, endpoint, group, expected) combinations; beyond: pooled
OTHER_ENDPOINTS = "(other endpoints)"
OTHER_GROUPS = "(other groups)"
SERIES_LAG_S = 5  # a second is finalised once samples 5 s newer have been seen


class Leaf:
    """HTTP figures for one (scenario, endpoint, group, expected_response) combination."""

    __slots__ = (
        "endpoint",
        "expected",
        "failed",
        "group",
        "hist",
        "legacy_failed",
        "requests",
        "scenario",
        "timeouts",
    )

    def __init__(self, scenario, endpoint, group, expected):
        self.scenario: str | None = scenario
        self.endpoint: str = endpoint
        self.group: str = group
        self.expected: bool = expected
        self.requests = 0
        self.failed = 0
        self.timeouts = 0
        self.legacy_failed = 0  # status >= 400 or an error code (for k6 < v0.31 files)
        self.hist = Hist()


class Scopes:
    """Maps HTTP tag sets to Leaf objects (with the endpoint/group caps)."""

    def __init__(self, warnings: list[str]):
        self.leaves: dict[tuple, Leaf] = {}
        self.endpoints: set[str] = set()
        self.groups: set[str] = set()
        self.warnings = warnings
        self.live: list[list] = []  # entries whose counts are not folded into leaves yet
        self.timeouts: dict[str, int] = {}  # breakdown label -> requests

    def entry(self, tags: dict) -> list:
        """A new counter entry for one HTTP tag set: [count, the leaf histogram's pending array,
        leaf, timeout label or None, counts-as-failed-for-old-k6]. The hot loop only does
        entry[0] += 1 and entry[1].append(ms); `fold` moves the counts into the leaves."""
        method = tags.get("method", "")
        name = tags.get("name") or tags.get("url", "")
        endpoint = self._capped(
            f"{method} {name}", self.endpoints, MAX_ENDPOINTS, OTHER_ENDPOINTS, "endpoints"
        )
        group = self._capped(tags.get("group", ""), self.groups, MAX_GROUPS, OTHER_GROUPS, "groups")
        expected = tags.get("expected_response", "true") != "false"
        key = (tags.get("scenario"), endpoint, group, expected)
        leaf = self.leaves.get(key)
        if leaf is None:
            if len(self.leaves) >= MAX_LEAVES:
                key = (key[0], OTHER_ENDPOINTS, OTHER_GROUPS, expected)
                self._warn_once(f"more than {MAX_LEAVES} scope combinations: the rest are pooled")
            leaf = self.leaves.get(key) or self.leaves.setdefault(key, Leaf(*key))
        status = tags.get("status", "")
        legacy = bool(tags.get("error_code")) or (status.isdigit() and int(status) >= 400)
        label = k6_timeout_label(tags.get("error_code"), tags.get("error"))
        e = [0, leaf.hist.pending, leaf, label, legacy]
        self.live.append(e)
        return e

    def flush(self) -> None:
        """Bucket the pending durations of every leaf (keeps the pending arrays small)."""
        for leaf in self.leaves.values():
            if leaf.hist.pending:
                leaf.hist.flush()

    def fold(self) -> None:
        """Move the request counts of all live entries into their leaves (and forget them)."""
        for count, _, leaf, label, legacy in self.live:
            leaf.requests += count
            if label is not None:
                leaf.timeouts += count
                self.timeouts[label] = self.timeouts.get(label, 0) + count
            if legacy:
                leaf.legacy_failed += count
        self.live = []

    def _warn_once(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)

    def _capped(self, value, seen, cap, other, what):
        if value in seen or not value:
            return value
        if len(seen) >= cap:
            if other not in seen:
                seen.add(other)
                self.warnings.append(f"more than {cap} {what}: the rest are pooled as {other}")
            return other
        seen.add(value)
        return value


class Bucket:
    """One second of the series; its durations are kept until it is finalised."""

    __slots__ = ("failures", "p95", "requests", "sec", "vals")

    def __init__(self, sec: int):
        self.sec = sec
        self.requests = 0
        self.failures = 0
        self.vals: array | None = array("d")
        self.p95: float | None = None


class Series:
    """Per-second requests, failures, p95 and VUs. A second's p95 is computed (exactly, k6
    interpolation) and its durations dropped once a sample SERIES_LAG_S seconds newer arrives;
    durations arriving later than that are left out of that second's p95 (counted in `late`)."""

    def __init__(self):
        self.buckets: dict[int, Bucket] = {}
        self.open: list[int] = []
        self.max_sec = -1
        self.late = 0

    def switch(self, sec: int) -> Bucket:
        """The bucket of second `sec` (created, and older ones finalised, as needed)."""
        b = self.buckets.get(sec)
        if b is None:
            b = self.buckets[sec] = Bucket(sec)
            self.open.append(sec)
        if sec > self.max_sec:
            self.max_sec = sec
            self._finalise(sec - SERIES_LAG_S)
        return b

    def _finalise(self, upto: int) -> None:
        if not self.open or self.open[0] > upto:
            return
        keep = []
        for sec in self.open:
            if sec <= upto:
                self._close(self.buckets[sec])
            else:
                keep.append(sec)
        self.open = keep

    @staticmethod
    def _close(b: Bucket) -> None:
        if b.vals is not None:
            b.p95 = exact_percentile(sorted(b.vals), 95)
            b.vals = None

    def points(self, vus_by_sec: dict[int, int]) -> list[SeriesPoint]:
        """All seconds from first to last (gaps filled with empty points), VUs forward-filled."""
        for b in self.buckets.values():
            self._close(b)
        secs = list(self.buckets) + list(vus_by_sec)
        if not secs:
            return []
        out, vus = [], None
        for sec in range(min(secs), max(secs) + 1):
            vus = vus_by_sec.get(sec, vus)
            b = self.buckets.get(sec)
            if b is None:
                out.append(SeriesPoint(t=sec, vus=vus))
            else:
                out.append(SeriesPoint(sec, b.requests, b.failures, b.p95, vus))
        return out


class Agg:
    """Aggregate of one non-HTTP metric by k6 type: counter, gauge, rate or trend."""

    __slots__ = ("hi", "hist", "kind", "last", "lo", "n", "passes", "total")

    def __init__(self, kind: str):
        self.kind = kind
        self.n = 0
        self.total = 0.0
        self.passes = 0
        self.last = None
        self.lo = math.inf
        self.hi = -math.inf
        self.hist = SignedHist() if kind == "trend" else None

    def add(self, value: float) -> None:
        self.n += 1
        if self.kind == "counter":
            self.total += value
        elif self.kind == "rate":
            self.passes += value != 0
        elif self.kind == "gauge":
            self.last = value
            self.lo, self.hi = min(self.lo, value), max(self.hi, value)
        else:
            self.hist.record(value)

    def figures(self, duration_s: float | None) -> dict[str, float]:
        """k6 aggregates for this metric type (the names thresholds use)."""
        if self.kind == "counter":
            rate = self.total / duration_s if duration_s else 0.0
            count = int(self.total) if self.total.is_integer() else self.total
            return {"count": count, "rate": rate}
        if self.kind == "rate":
            rate = self.passes / self.n if self.n else 0.0
            return {"rate": rate, "passes": self.passes, "fails": self.n - self.passes}
        if self.kind == "gauge":
            return {"value": self.last, "min": self.lo, "max": self.hi} if self.n else {}
        return self.hist.summary()


def check_value(raw: float, metric: str) -> float:
    """Reject NaN/Infinity (already impossible from the regex) and absurd magnitudes."""
    if not math.isfinite(raw):
        raise BadValue(f"value {raw} of {metric} is not a number")
    if abs(raw) > 1e15:
        raise BadValue(f"value {raw:g} of {metric} is implausibly large")
    return raw


def check_duration(raw: float, metric: str) -> float:
    """Durations must be finite, >= 0 and below about 11 days."""
    if not math.isfinite(raw):
        raise BadValue(f"value {raw} of {metric} is not a number")
    if raw < 0:
        raise BadValue(f"negative duration {raw:g} ms in {metric}")
    if raw > 1e9:
        raise BadValue(f"duration {raw:g} ms in {metric} is implausibly large")
    return raw
