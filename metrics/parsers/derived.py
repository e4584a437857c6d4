"""Derived launch checks computed from a RunResult. Pure functions; rules also in
docs/ingestion.md ("Derived checks").

Connection timeouts are not computed here: the parsers count them while reading (rules in
metrics/parsers/timeouts.py) into Stats.timeouts per scope and RunResult.timeout_breakdown.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from .model import RunResult, SeriesPoint

PEAK_SHARE = 0.9  # a second belongs to the peak stage when vus >= 90 % of the run's maximum


@dataclass
class Recovery:
    """Result of spike_recovery; `seconds` None means not judged or never recovered (`why`)."""

    seconds: float | None
    spike_end: int | None
    recovered_at: int | None
    why: str


@dataclass
class Drift:
    """Result of latency_drift; `pct` None means the run cannot be judged (`why`)."""

    pct: float | None
    why: str


def _healthy(p: SeriesPoint, p95_limit_ms: float, error_rate_limit: float) -> bool:
    return (
        p.p95_ms is not None
        and p.p95_ms < p95_limit_ms
        and p.failures / p.requests < error_rate_limit
    )


def _peak_block(series: list[SeriesPoint]) -> tuple[int, int] | None:
    """(first, last) index of the contiguous peak-stage block holding the first VU maximum."""
    known = [p.vus for p in series if p.vus is not None]
    if not known or max(known) <= 0:
        return None
    top = max(known)
    i = next(i for i, p in enumerate(series) if p.vus == top)
    lo = hi = i
    while lo > 0 and (series[lo - 1].vus or 0) >= PEAK_SHARE * top:
        lo -= 1
    while hi + 1 < len(series) and (series[hi + 1].vus or 0) >= PEAK_SHARE * top:
        hi += 1
    return lo, hi


def spike_recovery(
    series: list[SeriesPoint], *, p95_limit_ms: float, error_rate_limit: float, hold_s: int = 5
) -> Recovery:
    """Seconds the system needed to recover after the VU spike.

    Rule: the peak stage is the contiguous run of seconds whose VUs are >= 90 % of the run's
    maximum, around the first second that reaches the maximum. `spike_end` is the unix second
    at which that stage ended (its last second + 1). After it, only seconds with requests are
    considered; a second is healthy when its p95 < p95_limit_ms and failures/requests <
    error_rate_limit. `recovered_at` is the first second of the first run of `hold_s`
    consecutive healthy seconds, and `seconds` = recovered_at - spike_end (0 when the system
    was healthy right away). None (with `why`) when there is no VU data, when the run ends
    inside the peak stage, or when it never holds healthy for `hold_s` seconds.
    """
    block = _peak_block(series)
    if block is None:
        return Recovery(None, None, None, "no VU data in the series: cannot find the spike")
    if block[1] == len(series) - 1:
        return Recovery(
            None, None, None, "the run ends during the peak stage: nothing after the spike to judge"
        )
    spike_end = series[block[1]].t + 1
    after = [p for p in series[block[1] + 1 :] if p.requests > 0]
    streak = 0
    for i, p in enumerate(after):
        streak = streak + 1 if _healthy(p, p95_limit_ms, error_rate_limit) else 0
        if streak == hold_s:
            start = after[i - hold_s + 1].t
            return Recovery(
                float(start - spike_end), spike_end, start, f"healthy for {hold_s} s from {start}"
            )
    return Recovery(
        None,
        spike_end,
        None,
        f"never stayed under p95 < {p95_limit_ms:g} ms and "
        f"error rate < {error_rate_limit:g} for {hold_s} s "
        "after the spike",
    )


def _windows(series: list[SeriesPoint], window_s: int) -> list[tuple[float, float]]:
    """(window midpoint offset s, median per-second p95) for windows at least half covered."""
    if not series:
        return []
    t0, buckets = series[0].t, {}
    for p in series:
        if p.requests > 0 and p.p95_ms is not None:
            buckets.setdefault((p.t - t0) // window_s, []).append(p.p95_ms)
    return [
        ((k + 0.5) * window_s, statistics.median(v))
        for k, v in sorted(buckets.items())
        if len(v) >= window_s / 2
    ]


def latency_drift(series: list[SeriesPoint], *, window_s: int = 60, min_windows: int = 10) -> Drift:
    """Endurance leak signal: how much p95 grows across the run, in percent.

    Rule: split the run into `window_s`-second windows from its first second; a window's value
    is the median of its per-second p95s (seconds with requests), and windows with fewer than
    window_s/2 such seconds are dropped. Fit a least-squares line through (window midpoint,
    value) and return 100 * (fit(end) - fit(start)) / fit(start), start and end being the first
    and last window midpoints. None when fewer than `min_windows` windows remain (by default a
    run shorter than 10 minutes) or the fitted start is not positive.
    """
    pts = _windows(series, window_s)
    if len(pts) < min_windows:
        minutes = min_windows * window_s / 60
        return Drift(
            None,
            f"run too short: {len(pts)} usable {window_s}-s windows, need "
            f"{min_windows} (about {minutes:g} min of traffic)",
        )
    xs, ys = [x for x, _ in pts], [y for _, y in pts]
    slope, intercept = statistics.linear_regression(xs, ys)
    start, end = intercept + slope * xs[0], intercept + slope * xs[-1]
    if start <= 0:
        return Drift(None, "fitted start p95 is not positive")
    pct = 100 * (end - start) / start
    return Drift(pct, f"p95 trend {start:.1f} -> {end:.1f} ms over {len(pts)} windows")


def flow_success(result: RunResult, group: str | None = None) -> float | None:
    """Business-flow success rate (0..1).

    Rule: without `group`, the k6 `checks` rate (RunResult.checks_rate). With a group path
    (e.g. "::checkout"): that group's checks pass rate when it ran checks, else its share of
    requests that did not fail. None when there is nothing to judge.
    """
    if group is None:
        return result.checks_rate
    g = result.groups.get(group)
    if not g:
        return None
    checks = g["checks_passes"] + g["checks_fails"]
    if checks:
        return g["checks_passes"] / checks
    return 1 - g["failed"] / g["requests"] if g["requests"] else None
