"""The inline HDR bucket index and the k6-style percentiles."""

from __future__ import annotations

import random
import statistics

import pytest
from hdrh.histogram import HdrHistogram

from metrics.parsers.hist import Hist, SignedHist, exact_percentile, hdr_index


def test_inline_index_equals_the_hdrhistogram_package():
    ref = HdrHistogram(1, 1 << 62, 3)
    rng = random.Random(7)
    values = list(range(5000)) + [rng.randrange(1 << k) for k in range(12, 62) for _ in range(2000)]
    for v in values:
        assert hdr_index(v) == ref._counts_index_for(v), v


def linear(sample, p):
    """numpy.percentile's default (linear, R-7) via statistics.quantiles(method="inclusive")."""
    if p in (0, 100):
        return min(sample) if p == 0 else max(sample)
    return statistics.quantiles(sample, n=1000, method="inclusive")[round(p * 10) - 1]


def test_percentiles_match_the_linear_definition_within_half_a_bucket():
    rng = random.Random(3)
    samples = [
        [rng.lognormvariate(4, 1) for _ in range(20_000)],
        [rng.uniform(0, 2) for _ in range(999)],
        [5.0, 5.0],
        [0.0, 0.0, 1000.0],
    ]
    for sample in samples:
        h = Hist()
        for v in sample:
            h.record(v)
        got = h.percentiles([0, 1, 50, 90, 95, 99, 99.9, 100])
        for p, value in got.items():
            assert value == pytest.approx(linear(sample, p), rel=1e-3, abs=1e-3), p
        assert h.summary()["avg"] == pytest.approx(statistics.fmean(sample))


def test_exact_percentile_is_k6s_formula():
    values = sorted(random.Random(1).random() for _ in range(101))
    for p in (0, 12.5, 50, 95, 100):
        expected = values[0] if p == 0 else values[-1] if p == 100 else None
        if expected is None:
            pos = p / 100 * 100  # n - 1 = 100: position is p itself
            lo = int(pos)
            expected = values[lo] + (values[lo + 1] - values[lo]) * (pos - lo)
        assert exact_percentile(values, p) == pytest.approx(expected)
    assert exact_percentile(values, 95) == pytest.approx(linear(values, 95))
    assert exact_percentile([], 50) is None


def test_signed_hist_and_to_hdr():
    s = SignedHist()
    for v in (-10.0, -1.0, 0.0, 5.0, 20.0):
        s.record(v)
    summary = s.summary()
    assert summary["min"] == -10 and summary["max"] == 20 and summary["count"] == 5
    assert summary["med"] == pytest.approx(0.0, abs=1e-3)
    h = Hist()
    for v in (1.0, 2.0, 3.0, 250.0):
        h.record(v)
    hdr = h.to_hdr()
    assert hdr.get_total_count() == 4
    assert hdr.get_value_at_percentile(100) == pytest.approx(250_000, rel=1e-3)


def test_bulk_flush_equals_recording_one_by_one():
    from metrics.parsers.hist import bucket_end_units, to_units

    rng = random.Random(5)
    edges = [(bucket_end_units(i) - 0.5) / 1000 for i in range(0, 40_000, 37)]
    values = [e + d for e in edges for d in (-1e-12, 0.0, 1e-12)]
    values += [rng.lognormvariate(3, 2) for _ in range(20_000)]
    h = Hist()
    for v in values:
        h.record(v)
    h.flush()
    expected: dict[int, int] = {}
    for v in values:
        idx = hdr_index(to_units(v))
        expected[idx] = expected.get(idx, 0) + 1
    assert dict(h.items()) == expected and h.n == len(values)
    assert (h.lo, h.hi) == (min(values), max(values))
