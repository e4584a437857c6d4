"""spike_recovery, latency_drift and flow_success on hand-built series."""

from __future__ import annotations

import pytest

from metrics.parsers import RunResult, SeriesPoint, flow_success, latency_drift, spike_recovery

LIMITS = {"p95_limit_ms": 400, "error_rate_limit": 0.01}


def series(vus, p95, failures=None, t0=1000):
    failures = failures or [0] * len(vus)
    return [
        SeriesPoint(t=t0 + i, requests=100, failures=f, p95_ms=p, vus=v)
        for i, (v, p, f) in enumerate(zip(vus, p95, failures, strict=True))
    ]


def test_recovery_after_a_spike():
    vus = [10] * 5 + [100] * 5 + [10] * 12
    p95 = [100] * 5 + [900] * 5 + [700, 600, 350, 300, 300, 300, 300, 300, 300, 300, 300, 300]
    rec = spike_recovery(series(vus, p95), **LIMITS)
    assert rec.spike_end == 1010  # last peak second is 1009; the stage ends at 1010
    assert rec.recovered_at == 1012 and rec.seconds == 2.0


def test_errors_also_block_recovery_and_hold_is_required():
    vus = [10] * 3 + [50] * 3 + [10] * 10
    p95 = [100] * 16
    fails = [0] * 6 + [5, 0, 0, 0, 5, 0, 0, 0, 0, 0]  # 5 % errors at 1006 and 1010
    rec = spike_recovery(series(vus, p95, fails), **LIMITS, hold_s=5)
    assert (rec.spike_end, rec.recovered_at, rec.seconds) == (1006, 1011, 5.0)


def test_no_spike_or_no_recovery():
    flat = spike_recovery(series([20] * 10, [100] * 10), **LIMITS)
    assert flat.seconds is None and "ends during the peak" in flat.why
    never = spike_recovery(series([10, 100, 10, 10, 10], [100, 900, 900, 900, 900]), **LIMITS)
    assert never.seconds is None and never.spike_end == 1002 and "never" in never.why
    none = spike_recovery([SeriesPoint(t=1, requests=1)], **LIMITS)
    assert none.seconds is None and "no VU data" in none.why


def test_latency_drift():
    growing = [SeriesPoint(t=i, requests=10, p95_ms=100 + i / 60) for i in range(20 * 60)]
    d = latency_drift(growing)
    assert d.pct == pytest.approx(100 * 19 / 100.5, rel=0.01)  # 100.5 -> 119.5 ms
    flat = latency_drift([SeriesPoint(t=i, requests=10, p95_ms=100) for i in range(900)])
    assert flat.pct == pytest.approx(0.0, abs=1e-9)
    short = latency_drift([SeriesPoint(t=i, requests=10, p95_ms=100) for i in range(300)])
    assert short.pct is None and "too short" in short.why and "10 min" in short.why


def test_flow_success():
    r = RunResult(
        tool="k6",
        format="k6-json",
        checks_rate=0.97,
        groups={
            "::checkout": {"requests": 10, "failed": 1, "checks_passes": 8, "checks_fails": 2},
            "::browse": {"requests": 20, "failed": 5, "checks_passes": 0, "checks_fails": 0},
        },
    )
    assert flow_success(r) == 0.97
    assert flow_success(r, "::checkout") == 0.8
    assert flow_success(r, "::browse") == 0.75
    assert flow_success(r, "::missing") is None
