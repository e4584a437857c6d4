"""A window aggregate from CloudWatch datapoints (one value per period). Pure functions.

CloudWatch returns one value per period for the declared statistic; the window aggregate is
computed from those values here. Which combinations are exact:

    declared stat   aggregate  result                                     exact?
    Maximum         max        largest per-period maximum                 exact
    Minimum         min        smallest per-period minimum                exact
    Sum             sum        sum of per-period sums                     exact
    SampleCount     count/sum  sum of per-period sample counts            exact
    Average         avg        mean of per-period averages                exact only when every
                                                                          period has as many
                                                                          samples (true for AWS
                                                                          service metrics
                                                                          published at a fixed
                                                                          rate, e.g. RDS)
    pNN             p(NN)      largest per-period pNN                     an upper bound of the
                                                                          window's pNN (if fewer
                                                                          than 100-NN % of every
                                                                          period lie above x, so
                                                                          of the window): safe
                                                                          for "<" thresholds;
                                                                          exact for one period
    any             value      the newest period's value                  exact
    any             max/min/avg/med  over the per-period values           "the worst minute" etc.

Other combinations (sum of Averages, count of Maximums, p(99) of a p95 stat, rate) are
refused by `combination_problem`, so a plan cannot ask for a number that means nothing.
"""

from __future__ import annotations

import re
import statistics

from .aggregates import Aggregate

SIMPLE_STATS = ("SampleCount", "Average", "Sum", "Minimum", "Maximum")
_PERCENTILE_STAT = re.compile(r"p(\d{1,2}(?:\.\d{1,2})?|100)")
HIGH_RESOLUTION_PERIODS = (1, 5, 10, 20, 30)


def stat_percentile(stat: str) -> float | None:
    """95.0 for "p95", None for a simple statistic."""
    match = _PERCENTILE_STAT.fullmatch(stat)
    return float(match.group(1)) if match else None


def stat_problem(stat: object) -> str | None:
    if isinstance(stat, str) and (stat in SIMPLE_STATS or stat_percentile(stat) is not None):
        return None
    return f"stat {stat!r} is not supported: use one of {', '.join(SIMPLE_STATS)} or pNN"


def period_problem(period: object) -> str | None:
    if isinstance(period, bool) or not isinstance(period, int):
        return f"period {period!r} must be a whole number of seconds"
    if period in HIGH_RESOLUTION_PERIODS or (period >= 60 and period % 60 == 0):
        return None
    return f"period {period} must be 1, 5, 10, 20, 30 or a multiple of 60 seconds"


def combination_problem(stat: str, aggregate: Aggregate) -> str | None:
    """Why `aggregate` over per-period `stat` values means nothing, or None if it is fine."""
    name = aggregate.name
    if name in ("value", "max", "min", "avg", "med"):
        return None
    if name == "sum" and stat in ("Sum", "SampleCount"):
        return None
    if name == "count" and stat == "SampleCount":
        return None
    if name == "p" and stat_percentile(stat) == aggregate.percentile:
        return None
    wanted = {
        "sum": "stat Sum or SampleCount",
        "count": "stat SampleCount",
        "p": f"stat p{aggregate.percentile_text if aggregate.percentile else ''}",
        "rate": "metric math, which this collector does not read",
    }[name]
    return f"aggregate {_label(aggregate)} over CloudWatch stat {stat} needs {wanted}"


def _label(aggregate: Aggregate) -> str:
    return f"p({aggregate.percentile_text})" if aggregate.name == "p" else aggregate.name


def window_value(aggregate: Aggregate, values: list[float]) -> float | None:
    """The aggregate of per-period values (oldest first); None for no datapoints.

    Assumes `combination_problem` found nothing wrong.
    """
    if not values:
        return None
    name = aggregate.name
    if name == "value":
        return values[-1]
    if name in ("max", "p"):
        return max(values)
    if name == "min":
        return min(values)
    if name in ("sum", "count"):
        return float(sum(values))
    if name == "med":
        return float(statistics.median(values))
    return float(statistics.fmean(values))
