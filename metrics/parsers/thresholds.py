"""k6 threshold expressions: parsing and evaluation against our own aggregates.

A k6 threshold is "<aggregation> <operator> <number>", e.g. "p(95)<400", "rate<0.01",
"count>=100", "avg<200", "med<=50", "value<10". Aggregations are the k6 names: avg, min, max,
med, p(N) for trends; rate for rates (and counters: per second); count for counters; value for
gauges (last value). Operators: <, <=, >, >=, ==, ===, !=.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable

_EXPR = re.compile(
    r"^\s*(avg|min|max|med|count|rate|value|p\(\s*\d+(?:\.\d+)?\s*\))\s*"
    r"(<=|>=|===|==|!=|<|>)\s*(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)\s*$"
)
_OPS = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "===": operator.eq,
    "!=": operator.ne,
}


def parse_threshold(expr: str) -> tuple[str, str, float] | None:
    """Split "p(95)<400" into ("p(95)", "<", 400.0); None when it is not a k6 threshold."""
    m = _EXPR.match(expr)
    if not m:
        return None
    agg = re.sub(r"\s+", "", m.group(1))
    if agg.startswith("p("):  # normalise "p(95.0)" and "p(95)" alike
        agg = f"p({_fmt(float(agg[2:-1]))})"
    return agg, m.group(2), float(m.group(3))


def _fmt(x: float) -> str:
    return str(int(x)) if x == int(x) else repr(x)


def threshold_source(item) -> str | None:
    """The expression of a threshold as written in a k6 Metric line: a string or an object
    {"threshold": "...", "abortOnFail": ...}; None for anything else."""
    if isinstance(item, str):
        return item
    if isinstance(item, dict) and isinstance(item.get("threshold"), str):
        return item["threshold"]
    return None


def evaluate(expr: str, lookup: Callable[[str], float | None]) -> bool | None:
    """True/False when `lookup(aggregation)` gives a number; None when it does not or the
    expression is not understood."""
    parsed = parse_threshold(expr)
    if parsed is None:
        return None
    agg, op, limit = parsed
    value = lookup(agg)
    if value is None:
        return None
    return bool(_OPS[op](value, limit))
