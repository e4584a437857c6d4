"""InfluxQL statements for one Query, built from config values that are never trusted.

Identifiers are double-quoted and string values single-quoted with InfluxQL's own escapes
(backslash, quote); control characters are refused outright (a raw newline or NUL ends a
quoted token early in InfluxQL's scanner), so a config value can never close its quotes and
add a clause. Times are integer nanoseconds since the epoch.
"""

from __future__ import annotations

from dataclasses import dataclass

from .aggregates import Aggregate

_FUNCTIONS = {
    "avg": "mean",
    "rate": "mean",  # k6 rates are 0/1 points: their mean is the rate
    "min": "min",
    "max": "max",
    "med": "median",  # mean of the two middle points when n is even, as k6's med
    "sum": "sum",
    "count": "count",
    "value": "last",
}


def check_text(value: object, what: str, *, allow_empty: bool = False) -> str:
    """Return `value` if it is usable text; ValueError naming `what` otherwise."""
    if not isinstance(value, str) or not (value or allow_empty):
        raise ValueError(f"{what} must be non-empty text")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise ValueError(f"{what} must not contain control characters")
    return value


def quote_ident(name: str) -> str:
    check_text(name, "an InfluxDB name")
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def quote_string(value: str) -> str:
    # Empty is allowed: k6 drops empty tags, so `"group" = ''` selects the root group.
    check_text(value, "an InfluxDB tag value", allow_empty=True)
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


@dataclass(frozen=True)
class Selection:
    """Which points a metric reads: a measurement's field, filtered by tag equality."""

    measurement: str
    field: str = "value"
    where: tuple[tuple[str, str], ...] = ()
    retention_policy: str | None = None


@dataclass(frozen=True)
class Window:
    """Nanosecond bounds: the aggregate window, the chart window, and the chart step."""

    start_ns: int
    end_ns: int
    chart_start_ns: int
    step_s: int


def function(aggregate: Aggregate, field: str) -> str:
    """The InfluxQL call for an aggregate. percentile() is nearest-rank, not interpolated: the
    window's figure is then interpolated as k6 does from closest_ranks(); the chart keeps it."""
    if aggregate.name == "p":
        return f"percentile({quote_ident(field)}, {aggregate.percentile_text})"
    return f"{_FUNCTIONS[aggregate.name]}({quote_ident(field)})"


def statements(selection: Selection, aggregate: Aggregate, window: Window) -> list[str]:
    """Three statements: [aggregate and count over the window, the newest point in the window
    (a lone selector returns that point's own time), the aggregate per step over the chart]."""
    source = _from(selection)
    fn = function(aggregate, selection.field)
    field = quote_ident(selection.field)
    in_window = _where(selection, window.start_ns, window.end_ns)
    in_chart = _where(selection, window.chart_start_ns, window.end_ns)
    return [
        _select(f'{fn} AS "v", count({field}) AS "n"', source, in_window),
        _select(f'last({field}) AS "v"', source, in_window),
        _select(
            f'{fn} AS "v"', source, in_chart, f"GROUP BY time({int(window.step_s)}s) fill(none)"
        ),
    ]


def closest_ranks(selection: Selection, percentile: float, n: int, window: Window) -> str:
    """The two samples k6 interpolates between for p(`percentile`) of `n` points, and the count.

    k6 takes sorted[i] + (sorted[i+1] - sorted[i]) * (pos - i), pos = p/100 * (n - 1), i its
    floor. percentile(f, q) returns sorted[floor(n*q/100 + 0.5) - 1], so q = (i + 1) * 100 / n
    selects sorted[i] exactly, with half a rank of margin for rounding.
    """
    low = int(percentile / 100 * (n - 1))
    high = min(low + 1, n - 1)
    field = quote_ident(selection.field)
    ranks = [f"percentile({field}, {(rank + 1) * 100 / n:.12f})" for rank in (low, high)]
    return _select(
        f'{ranks[0]} AS "lo", {ranks[1]} AS "hi", count({field}) AS "n"',
        _from(selection),
        _where(selection, window.start_ns, window.end_ns),
    )


def _select(fields: str, source: str, where: str, tail: str = "") -> str:
    # Every config-derived piece was quoted by quote_ident/quote_string; numbers are int().
    statement = f"SELECT {fields} FROM {source} WHERE {where}"  # noqa: S608
    return f"{statement} {tail}" if tail else statement


def _from(selection: Selection) -> str:
    measurement = quote_ident(selection.measurement)
    if selection.retention_policy:
        return f"{quote_ident(selection.retention_policy)}.{measurement}"
    return measurement


def _where(selection: Selection, start_ns: int, end_ns: int) -> str:
    tags = [f"{quote_ident(key)} = {quote_string(value)}" for key, value in selection.where]
    times = [f"time > {int(start_ns)}", f"time <= {int(end_ns)}"]
    return " AND ".join(tags + times)
