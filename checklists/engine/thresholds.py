"""k6 threshold syntax for criteria, extended with a window and baseline-relative bounds. Pure.

    p(95)<400            rate<0.01          count==0          max<45 over 5m
    avg<0.4              value>0.95         rate<1%           p(95)<=+10%   (vs a baseline run)

The aggregate names are k6's (count, rate, value, avg, min, max, med, p(N)) plus ``sum``. A number
with a ``%`` and no sign is a plain fraction (``1%`` is 0.01); a signed percentage (``+10%``,
``-5%``) is relative to a baseline value of the same aggregate.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

AGGREGATES = ("count", "rate", "value", "avg", "min", "max", "med", "sum")
OPERATORS = {
    "<": ("below", lambda a, b: a < b),
    "<=": ("at most", lambda a, b: a <= b),
    ">": ("above", lambda a, b: a > b),
    ">=": ("at least", lambda a, b: a >= b),
    "==": ("equal to", lambda a, b: a == b),
    "===": ("equal to", lambda a, b: a == b),
    "!=": ("different from", lambda a, b: a != b),
}
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_PATTERN = re.compile(
    r"""^\s*(?P<agg>[a-z]+|p\(\s*\d+(?:\.\d+)?\s*\))\s*
        (?P<op><=|>=|===|==|!=|<|>)\s*
        (?P<sign>[+-])?(?P<num>\d+(?:\.\d+)?(?:e[+-]?\d+)?)\s*(?P<pct>%)?\s*
        (?:over\s+(?P<win>\d+)\s*(?P<unit>[smhd]))?\s*$""",
    re.VERBOSE | re.IGNORECASE,
)


class ThresholdError(ValueError):
    """A threshold that does not parse; the message says what is wrong in plain words."""


@dataclass(frozen=True)
class Threshold:
    aggregate: str
    op: str
    value: float
    relative: bool = False
    window_s: int | None = None
    text: str = ""

    @property
    def phrase(self) -> str:
        return OPERATORS[self.op][0]

    @property
    def percentile(self) -> float | None:
        if self.aggregate.startswith("p("):
            return float(self.aggregate[2:-1])
        return None

    def bound(self, baseline: float | None = None) -> float | None:
        """The absolute bound: ``value``, or for a relative threshold the baseline moved by it."""
        if not self.relative:
            return self.value
        if baseline is None:
            return None
        return baseline * (1 + self.value / 100)

    def holds(self, observed: float, baseline: float | None = None) -> bool | None:
        """True/False, or None when a relative threshold has no baseline to compare with."""
        bound = self.bound(baseline)
        if bound is None or observed is None or math.isnan(observed):
            return None
        return OPERATORS[self.op][1](observed, bound)


def parse_threshold(text: str) -> Threshold:
    if not isinstance(text, str) or not text.strip():
        raise ThresholdError("threshold is empty (write it as k6 does, e.g. p(95)<400)")
    match = _PATTERN.match(text)
    if not match:
        raise ThresholdError(
            f"threshold {text!r} does not parse: write <aggregate><operator><number>, "
            "e.g. p(95)<400, rate<0.01, count==0, max<45 over 5m"
        )
    agg = re.sub(r"\s+", "", match["agg"].lower())
    if not agg.startswith("p(") and agg not in AGGREGATES:
        raise ThresholdError(
            f"threshold {text!r}: unknown aggregate {agg!r} "
            f"(use one of {', '.join(AGGREGATES)} or p(N))"
        )
    if agg.startswith("p(") and not 0 <= float(agg[2:-1]) <= 100:
        raise ThresholdError(f"threshold {text!r}: a percentile must be between p(0) and p(100)")
    number = float(match["num"])
    if match["sign"] == "-":
        number = -number
    relative = bool(match["sign"] and match["pct"])
    if match["pct"] and not relative:
        number /= 100
    window = int(match["win"]) * _UNITS[match["unit"].lower()] if match["win"] else None
    return Threshold(agg, match["op"], number, relative, window, text.strip())
