"""Aggregate names in k6 threshold syntax: "p(95)", "avg", "min", "max", "med", "sum", "count",
"rate" (mean of 0/1 values, e.g. http_req_failed) and "value" (the newest point)."""

from __future__ import annotations

import re
from dataclasses import dataclass

NAMES = ("avg", "min", "max", "med", "sum", "count", "rate", "value")
_PERCENTILE = re.compile(r"p\((\d{1,3}(?:\.\d{1,4})?)\)")


@dataclass(frozen=True)
class Aggregate:
    """A parsed aggregate: `name` is one of NAMES or "p"; `percentile` is set for "p"."""

    name: str
    percentile: float | None = None

    @property
    def percentile_text(self) -> str:
        """The percentile as InfluxQL/Flux want it: "95", "99.9"."""
        return f"{self.percentile:g}"


def parse_aggregate(text: str) -> Aggregate:
    """Parse an aggregate name; ValueError with a plain message if it is not one we know."""
    if not isinstance(text, str):
        raise ValueError(f"aggregate must be text like 'p(95)' or 'avg', not {text!r}")
    if text in NAMES:
        return Aggregate(text)
    match = _PERCENTILE.fullmatch(text)
    if match:
        percentile = float(match.group(1))
        if 0 < percentile <= 100:
            return Aggregate("p", percentile)
    raise ValueError(f"unknown aggregate {text!r}: use p(N) with 0 < N <= 100, or one of {NAMES}")
