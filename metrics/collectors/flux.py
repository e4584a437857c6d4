"""A Flux script for one poll of an InfluxDB 2 source, built from untrusted config values.

Every config value goes into a Flux string literal with Flux's own escapes (backslash, double
quote, and `${`, which would otherwise start an interpolation); control characters are refused.
Times are RFC 3339 literals computed from the caller's `now`, never the server's clock.

Each Query i yields four results: q<i>_value (the window aggregate), q<i>_count, q<i>_last
(the newest point, for its time) and q<i>_series (the aggregate per step over the chart).
Percentiles use quantile(method: "exact_selector"), a real sample like InfluxQL's nearest-rank
percentile(); the median uses "exact_mean", the mean of the two middle points, like k6's med.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from .aggregates import Aggregate
from .influxql import Selection, check_text
from .timeutil import rfc3339

_SIMPLE = {
    "avg": "mean",
    "rate": "mean",
    "min": "min",
    "max": "max",
    "sum": "sum",
    "count": "count",
    "value": "last",
}


def quote_string(value: str) -> str:
    check_text(value, "a Flux string", allow_empty=True)
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("${", "\\${")
    return f'"{escaped}"'


@dataclass(frozen=True)
class Plan:
    """One Query's part of the script."""

    selection: Selection
    aggregate: Aggregate
    window_s: int


def script(bucket: str, plans: list[Plan], now: datetime, chart_window_s: int, step_s: int) -> str:
    """The whole Flux script of a poll."""
    return "\n".join(
        _query_block(i, bucket, plan, now, chart_window_s, step_s) for i, plan in enumerate(plans)
    )


def _query_block(i, bucket, plan: Plan, now, chart_window_s, step_s) -> str:
    start = now - timedelta(seconds=max(plan.window_s, chart_window_s))
    window_start = now - timedelta(seconds=plan.window_s)
    chart_start = now - timedelta(seconds=chart_window_s)
    name = f"q{i}"
    return "\n".join(
        [
            f"{name} = from(bucket: {quote_string(bucket)})",
            f"  |> range(start: {rfc3339(start)}, stop: {rfc3339(now)})",
            f"  |> filter(fn: (r) => {_predicate(plan.selection)})",
            "  |> group()",
            f"{name}_w = {name} |> filter(fn: (r) => r._time > {rfc3339(window_start)})",
            f'{name}_w |> {_call(plan.aggregate)} |> yield(name: "{name}_value")',
            f'{name}_w |> count() |> yield(name: "{name}_count")',
            f'{name}_w |> last() |> yield(name: "{name}_last")',
            f"{name} |> filter(fn: (r) => r._time > {rfc3339(chart_start)})"
            f" |> aggregateWindow(every: {int(step_s)}s, fn: {_window_fn(plan.aggregate)},"
            f' createEmpty: false, timeSrc: "_start") |> yield(name: "{name}_series")',
        ]
    )


def _predicate(selection: Selection) -> str:
    terms = [
        f"r._measurement == {quote_string(selection.measurement)}",
        f"r._field == {quote_string(selection.field)}",
    ]
    terms += [f"r[{quote_string(tag)}] == {quote_string(value)}" for tag, value in selection.where]
    return " and ".join(terms)


def _call(aggregate: Aggregate, column: str = "") -> str:
    col = f"column: {column}, " if column else ""
    if aggregate.name == "p":
        q = f"{aggregate.percentile / 100:.6g}"
        return f'quantile({col}q: {q}, method: "exact_selector")'
    if aggregate.name == "med":
        return f'median({col}method: "exact_mean")'
    return f"{_SIMPLE[aggregate.name]}()"


def _window_fn(aggregate: Aggregate) -> str:
    if aggregate.name in ("p", "med"):
        return f"(column, tables=<-) => tables |> {_call(aggregate, 'column')}"
    return _SIMPLE[aggregate.name]
