"""CloudWatch metrics through boto3 `get_metric_data`.

Config (what a launch plan declares; credentials come from the environment, see aws.py):

    region            optional  e.g. "eu-west-1" ...
    region_env        optional  ... or a variable holding it (default: AWS_REGION, the profile)
    endpoint_url_env  optional  variable holding an endpoint URL (moto, LocalStack); unset = AWS
    metrics           required  {key: {"namespace": "AWS/RDS", "metric": "DatabaseConnections",
                                       "dimensions": {"DBInstanceIdentifier": "prod-db"},
                                       "stat": "Maximum" | "Minimum" | "Sum" | "Average" |
                                               "SampleCount" | "pNN",
                                       "period": 60 (default), "unit": "Count" (optional)}}

One poll asks for every Query's metric over max(window, chart window) in as few calls as
CloudWatch allows (500 metrics a call, following NextToken), and computes each window
aggregate from the per-period datapoints: which combinations are exact is in cwstats.py.
A datapoint belongs to the window when its period starts at or after `now - window_s`;
Reading.at is the start of the newest period in the window (CloudWatch stamps periods so).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from . import aws, cwstats
from .aggregates import parse_aggregate
from .retry import Deadline
from .timeutil import as_utc, utcnow
from .types import PollResult, Query, Reading, SourceError

DEFAULT_PERIOD_S = 60
MAX_METRICS_PER_CALL = 500
MAX_PAGES = 50  # a poll never follows NextToken forever


def poll(
    config: Mapping,
    queries: Sequence[Query],
    *,
    now: datetime,
    chart_window_s: int,
    env: Mapping[str, str],
    timeout_s: float,
) -> PollResult:
    """One poll; see metrics.collectors.poll for the contract."""
    where = aws.target(config, env)
    if not queries:
        return PollResult(readings=[], alarms=[], polled_at=utcnow())
    span = max(chart_window_s, *(query.window_s for query in queries))
    start = now - timedelta(seconds=span)
    requests = [_metric_query(i, config["metrics"][q.metric]) for i, q in enumerate(queries)]
    deadline = Deadline(timeout_s)
    points = aws.call(
        lambda: _fetch(where, env, timeout_s, deadline, requests, (start, now)), where, timeout_s
    )
    readings = [
        _reading(query, points.get(f"q{i}", []), now, chart_window_s)
        for i, query in enumerate(queries)
    ]
    return PollResult(readings=readings, alarms=[], polled_at=utcnow())


def _metric_query(index: int, metric: Mapping) -> dict:
    stat = {
        "Metric": {
            "Namespace": metric["namespace"],
            "MetricName": metric["metric"],
            "Dimensions": [
                {"Name": name, "Value": value}
                for name, value in sorted((metric.get("dimensions") or {}).items())
            ],
        },
        "Period": int(metric.get("period", DEFAULT_PERIOD_S)),
        "Stat": metric["stat"],
    }
    if metric.get("unit"):
        stat["Unit"] = metric["unit"]
    return {"Id": f"q{index}", "MetricStat": stat, "ReturnData": True}


def _fetch(where, env, timeout_s, deadline, requests, span) -> dict[str, list]:
    """{query id: [(time, value), ...]} over every chunk and page."""
    client = aws.new_client("cloudwatch", where, env, timeout_s)
    aws.guard_deadline(client, deadline)
    points: dict[str, list] = {}
    try:
        for offset in range(0, len(requests), MAX_METRICS_PER_CALL):
            chunk = requests[offset : offset + MAX_METRICS_PER_CALL]
            _fetch_chunk(client, chunk, span, deadline, where, points)
    finally:
        client.close()
    return points


def _fetch_chunk(client, chunk, span, deadline, where, points) -> None:
    start, end = span
    kwargs = {
        "MetricDataQueries": chunk,
        "StartTime": start,
        "EndTime": end,
        "ScanBy": "TimestampAscending",
    }
    for _page in range(MAX_PAGES):
        response = aws.check_is_aws(client.get_metric_data(**kwargs), where)
        for result in _results(response, where):
            _collect(result, points, where)
        token = response.get("NextToken")
        if not token:
            return
        if deadline.expired():
            raise aws.DeadlinePassed()
        kwargs["NextToken"] = token
    raise SourceError("bad_response", f"{where.what} kept paging past {MAX_PAGES} pages")


def _results(response: object, where: aws.Target) -> list:
    results = response.get("MetricDataResults") if isinstance(response, dict) else None
    if not isinstance(results, list):
        raise SourceError("bad_response", f"{where.what} answered without MetricDataResults")
    return results


def _collect(result: Mapping, points: dict, where: aws.Target) -> None:
    status = result.get("StatusCode")
    if status == "Forbidden":
        raise SourceError(
            "auth",
            f"{where.what} refused to show metric {result.get('Label')!r}",
            detail=str(result.get("Messages")),
        )
    if status == "InternalError":
        raise SourceError(
            "unreachable",
            f"{where.what} failed to read a metric",
            detail=str(result.get("Messages")),
        )
    stamps, values = result.get("Timestamps") or [], result.get("Values") or []
    if (
        len(stamps) != len(values)
        or not all(isinstance(t, datetime) and t.tzinfo for t in stamps)
        or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
    ):
        raise SourceError("bad_response", f"{where.what} answered with malformed datapoints")
    points.setdefault(result.get("Id"), []).extend(
        (as_utc(stamp), float(value)) for stamp, value in zip(stamps, values, strict=True)
    )


def _reading(query: Query, points: list, now: datetime, chart_window_s: int) -> Reading:
    points = sorted(dict(points).items())  # one value per period start, oldest first
    window_start = now - timedelta(seconds=query.window_s)
    chart_start = now - timedelta(seconds=chart_window_s)
    in_window = [(t, v) for t, v in points if window_start <= t <= now]
    aggregate = parse_aggregate(query.aggregate)
    return Reading(
        metric=query.metric,
        aggregate=query.aggregate,
        window_s=query.window_s,
        value=cwstats.window_value(aggregate, [v for _, v in in_window]),
        count=len(in_window),
        at=in_window[-1][0] if in_window else None,
        series=[(t, v) for t, v in points if chart_start <= t <= now],
    )
