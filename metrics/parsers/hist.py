"""Sparse HDR histograms with k6-style (linear, closest-ranks) percentiles.

Values are recorded in microseconds (value_ms * 1000, rounded) into the bucket layout of an
`hdrh.histogram.HdrHistogram(1, ..., 3)`: 3 significant digits, i.e. every bucket is at most
1/1024 of its value wide. The bucket index is computed inline (`hdr_index`) because the hot loop
cannot afford the package's per-call overhead; a test checks it against
`HdrHistogram._counts_index_for` for millions of values. Counts start in a dict (sparse: a
scope with few samples costs little) and move to a dense `array("Q")` indexed like the package's
counts array once that is smaller, so a busy scope's memory stops growing with the run's length
(at most 8 bytes x about 31,000 buckets for values up to 1e9 ms). `to_hdr()` gives a real
HdrHistogram (for storage with `encode()` or for merging elsewhere).

Percentiles follow k6: position = p/100 * (n - 1), linear interpolation between the values at the
two closest ranks. A rank's value is the midpoint of its bucket, clamped to the exact min/max;
rank 0 and rank n-1 are the exact min and max. The error is at most half a bucket (< 0.05 %) for
values of 1 ms or more and at most 0.5 us below that.
"""

from __future__ import annotations

import math
from array import array
from bisect import bisect_left, bisect_right
from itertools import accumulate

from hdrh.histogram import HdrHistogram

UNITS_PER_MS = 1000  # microseconds
MAX_UNITS = 1 << 62  # values above are clamped (about 146 years in microseconds)
_REF = HdrHistogram(1, MAX_UNITS, 3)  # used only for its bucket arithmetic


def hdr_index(units: int) -> int:
    """Counts index of a non-negative integer in an HdrHistogram(1, N, 3) (sub-bucket 2048)."""
    shift = units.bit_length() - 11
    if shift <= 0:
        return units
    return (shift << 10) + (units >> shift)


def to_units(value_ms: float) -> int:
    """Milliseconds to whole microseconds (rounded), clamped to the histogram's range."""
    units = int(value_ms * UNITS_PER_MS + 0.5)
    return units if units < MAX_UNITS else MAX_UNITS


def bucket_end_units(index: int) -> int:
    """First integer value past bucket `index` (exclusive upper bound, in units)."""
    if index < 2048:
        return index + 1
    shift = (index >> 10) - 1
    return ((index & 1023) + 1024 + 1) << shift


def bucket_midpoint_ms(index: int) -> float:
    """The middle of the value range that bucket `index` stands for, in milliseconds."""
    low = _REF.get_value_from_index(index)
    high = _REF.get_highest_equivalent_value(low)
    return (low + high) / 2 / UNITS_PER_MS


class Hist:
    """Counts of non-negative values (ms) per HDR bucket plus exact n, sum, min and max.

    Values are first appended to `pending` (the k6 hot loop appends to it directly) and
    counted into buckets in bulk by `flush`: sorting, then one bisect per bucket touched. The
    result is exactly what recording them one by one gives; every reader flushes first.
    `total` is summed in arrival order (sequential float addition on Python 3.11, like `+=`).
    """

    __slots__ = ("counts", "hi", "lo", "n", "pending", "total")
    FLUSH_AT = 4096

    def __init__(self):
        self.counts: dict[int, int] | array = {}
        self.n = 0
        self.total = 0.0
        self.lo = math.inf
        self.hi = -math.inf
        self.pending = array("d")

    def record(self, value_ms: float) -> None:
        """Add one value (must be finite and >= 0)."""
        self.pending.append(value_ms)
        if len(self.pending) >= self.FLUSH_AT:
            self.flush()

    def flush(self) -> None:
        """Count the pending values into buckets, n, total, min and max."""
        p = self.pending
        if not p:
            return
        self.total = sum(p, self.total)
        vals = sorted(p)
        del p[:]  # in place: the k6 parser holds a reference to this array
        self.n += len(vals)
        self.lo = min(self.lo, vals[0])
        self.hi = max(self.hi, vals[-1])
        i, n = 0, len(vals)
        while i < n:
            idx = hdr_index(to_units(vals[i]))
            j = bisect_left(vals, (bucket_end_units(idx) - 0.5) / UNITS_PER_MS, i)
            while j > i + 1 and hdr_index(to_units(vals[j - 1])) != idx:  # float rounding at
                j -= 1  # the bucket edge: settle with the exact per-value rule
            while j < n and hdr_index(to_units(vals[j])) == idx:
                j += 1
            self.bump(idx, j - i)
            i = j
        self._maybe_dense()

    def bump(self, idx: int, count: int) -> None:
        """Add `count` to bucket `idx` (dict or dense array storage)."""
        counts = self.counts
        if type(counts) is dict:
            counts[idx] = counts.get(idx, 0) + count
            return
        if idx >= len(counts):
            counts.frombytes(bytes(8 * (idx + 1 - len(counts))))
        counts[idx] += count

    def _maybe_dense(self) -> None:
        counts = self.counts
        if type(counts) is dict and len(counts) > 64 and len(counts) * 12 > max(counts):
            self._to_dense(0)

    def _to_dense(self, size: int) -> None:
        """Switch to (or grow) the dense array storage, at least `size` buckets long."""
        counts = self.counts
        if type(counts) is dict:
            dense = array("Q", bytes(8 * max(size, max(counts, default=-1) + 1)))
            for idx, c in counts.items():
                dense[idx] = c
            self.counts = dense
        elif len(counts) < size:
            counts.frombytes(bytes(8 * (size - len(counts))))

    def items(self) -> list[tuple[int, int]]:
        """(bucket index, count) pairs with count > 0, by index."""
        if type(self.counts) is dict:
            return sorted(self.counts.items())
        return [(i, c) for i, c in enumerate(self.counts) if c]

    def merge(self, other: Hist) -> None:
        """Add every value of `other` into this histogram."""
        self.flush()
        other.flush()
        if type(other.counts) is dict:
            for idx, c in other.counts.items():
                self.bump(idx, c)
            self._maybe_dense()
        else:
            self._to_dense(len(other.counts))
            counts = self.counts
            for idx, c in enumerate(other.counts):
                if c:
                    counts[idx] += c
        self.n += other.n
        self.total += other.total
        self.lo = min(self.lo, other.lo)
        self.hi = max(self.hi, other.hi)

    def percentiles(self, ps: list[float]) -> dict[float, float | None]:
        """k6-style percentiles for each p in `ps` (0..100); None for every p when empty."""
        self.flush()
        if not self.n:
            return dict.fromkeys(ps)
        if type(self.counts) is dict:
            pairs = sorted(self.counts.items())
            keys = [k for k, _ in pairs]
            cum = list(accumulate(c for _, c in pairs))
        else:  # dense: the cumulative array is indexed by bucket directly
            keys = None
            cum = array("Q", accumulate(self.counts))
        return {p: self._at(p, keys, cum) for p in ps}

    def _at(self, p: float, keys: list[int] | None, cum) -> float:
        pos = p / 100 * (self.n - 1)
        lower = math.floor(pos)
        frac = pos - lower
        v0 = self._rank(lower, keys, cum)
        if frac == 0:
            return v0
        return v0 + (self._rank(lower + 1, keys, cum) - v0) * frac

    def _rank(self, rank: int, keys: list[int] | None, cum) -> float:
        """Value of the rank-th smallest sample (0-based): its bucket's midpoint, clamped."""
        if rank <= 0:
            return self.lo
        if rank >= self.n - 1:
            return self.hi
        i = bisect_right(cum, rank)
        mid = bucket_midpoint_ms(keys[i] if keys is not None else i)
        return min(max(mid, self.lo), self.hi)

    def summary(self) -> dict[str, float]:
        """k6 trend aggregates: count, avg, min, med, max, p(90), p(95), p(99)."""
        self.flush()
        if not self.n:
            return {"count": 0}
        pct = self.percentiles([50, 90, 95, 99])
        return {
            "count": self.n,
            "avg": self.total / self.n,
            "min": self.lo,
            "med": pct[50],
            "max": self.hi,
            "p(90)": pct[90],
            "p(95)": pct[95],
            "p(99)": pct[99],
        }

    def to_hdr(self) -> HdrHistogram:
        """The same counts as a real `HdrHistogram` (microseconds, 3 significant digits)."""
        self.flush()
        top = max(2, int(self.hi * UNITS_PER_MS) + 2) if self.n else 2
        hist = HdrHistogram(1, min(top, MAX_UNITS), 3)
        for idx, c in self.items():
            hist.record_value(_REF.get_value_from_index(idx), c)
        return hist


class SignedHist:
    """A Hist that also takes negative values (custom k6 Trends may go below zero)."""

    __slots__ = ("neg", "pos")

    def __init__(self):
        self.pos = Hist()
        self.neg = Hist()  # holds -value for every value < 0

    def record(self, value: float) -> None:
        """Add one finite value."""
        if value < 0:
            self.neg.record(-value)
        else:
            self.pos.record(value)

    def percentile(self, p: float) -> float | None:
        """k6-style percentile p (0..100) over both signs; None when empty."""
        self.neg.flush()
        self.pos.flush()
        n = self.neg.n + self.pos.n
        if not n:
            return None
        if not self.neg.n:
            return self.pos.percentiles([p])[p]
        return _interp(_signed_ranks(self.neg, self.pos), p, n)

    def summary(self) -> dict[str, float]:
        """k6 trend aggregates over both signs (exact count/avg/min/max, HDR percentiles)."""
        self.neg.flush()
        self.pos.flush()
        if not self.neg.n:
            return self.pos.summary()
        n = self.neg.n + self.pos.n
        values = _signed_ranks(self.neg, self.pos)
        out = {"count": n, "avg": (self.pos.total - self.neg.total) / n}
        out["min"] = -self.neg.hi
        out["max"] = self.pos.hi if self.pos.n else -self.neg.lo
        for name, p in (("med", 50), ("p(90)", 90), ("p(95)", 95), ("p(99)", 99)):
            out[name] = _interp(values, p, n)
        return out


def _signed_ranks(neg: Hist, pos: Hist) -> list[tuple[float, int]]:
    """(value, count) pairs in ascending order over negative and positive buckets."""
    pairs = [(-bucket_midpoint_ms(k), c) for k, c in neg.items()]
    pairs += [(bucket_midpoint_ms(k), c) for k, c in pos.items()]
    pairs.sort()
    return pairs


def _interp(pairs: list[tuple[float, int]], p: float, n: int) -> float:
    pos = p / 100 * (n - 1)
    lower = math.floor(pos)
    cum = []
    run = 0
    for _, c in pairs:
        run += c
        cum.append(run)

    def value(rank):
        return pairs[min(bisect_right(cum, rank), len(pairs) - 1)][0]

    v0 = value(lower)
    frac = pos - lower
    return v0 if frac == 0 else v0 + (value(lower + 1) - v0) * frac


def exact_percentile(sorted_values, p: float) -> float | None:
    """k6's percentile over an already sorted sequence (linear between closest ranks)."""
    n = len(sorted_values)
    if not n:
        return None
    pos = p / 100 * (n - 1)
    lower = math.floor(pos)
    frac = pos - lower
    v0 = sorted_values[lower]
    if frac == 0 or lower + 1 >= n:
        return v0
    return v0 + (sorted_values[lower + 1] - v0) * frac
