"""The CloudWatch metrics collector: boto3 against moto's server mode over real HTTP, plus
canned answers (awsreplay, fixtures in tests/fixtures/cloudwatch/) for what moto 5.2.5 cannot
serve: percentile statistics (Stat "p95" crashes moto), NextToken paging, and AWS's own error
codes (moto answers errors in XML, which botocore reads as a bare HTTP status)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from metrics.collectors import Query, SourceError, SourceSpec, aws, poll
from tests.metrics.collectors import awsreplay
from tests.metrics.collectors.names import CW_ENDPOINT_ENV
from tests.support.moto_server import FAKE_CREDENTIALS, running_moto_server

NOW = datetime.now(UTC).replace(second=0, microsecond=0)
DB = {"DBInstanceIdentifier": "prod-db"}
ALB = {"LoadBalancer": "app/prod-alb/50dc6c495c0c9188"}
CACHE = {"CacheClusterId": "prod-redis-001", "CacheNodeId": "0001"}

# The seed plan's live criteria (steps 5 and 8): DatabaseConnections < 45 of 50, ALB 5XX and
# TargetResponseTime < 0.4 s, ElastiCache Evictions 0.
CONFIG = {
    "endpoint_url_env": CW_ENDPOINT_ENV,
    "metrics": {
        "db-connections": {"namespace": "AWS/RDS", "metric": "DatabaseConnections",
                           "dimensions": DB, "stat": "Maximum"},
        "alb-5xx": {"namespace": "AWS/ApplicationELB", "metric": "HTTPCode_Target_5XX_Count",
                    "dimensions": ALB, "stat": "Sum"},
        "response-time": {"namespace": "AWS/ApplicationELB", "metric": "TargetResponseTime",
                          "dimensions": ALB, "stat": "Average"},
        "response-time-p95": {"namespace": "AWS/ApplicationELB", "metric": "TargetResponseTime",
                              "dimensions": ALB, "stat": "p95"},
        "evictions": {"namespace": "AWS/ElastiCache", "metric": "Evictions",
                      "dimensions": CACHE, "stat": "Sum"},
        "requests": {"namespace": "AWS/ApplicationELB", "metric": "RequestCount",
                     "dimensions": ALB, "stat": "SampleCount"},
    },
}  # fmt: skip
SPEC = SourceSpec(key="aws", kind="cloudwatch", config=CONFIG)


def _datum(name: str, dimensions: dict, minutes_ago: int, value: float) -> dict:
    return {
        "MetricName": name,
        "Dimensions": [{"Name": k, "Value": v} for k, v in dimensions.items()],
        "Timestamp": NOW - timedelta(minutes=minutes_ago) + timedelta(seconds=10),
        "Value": value,
    }


@pytest.fixture
def seeded(fresh_moto):
    """Ten minutes of data: connections 30..39 (newest highest), 5XX 1+2 a minute, response
    times 0.2 and 0.3 s a minute, zero evictions."""
    cw = boto3.session.Session(**FAKE_CREDENTIALS).client("cloudwatch", endpoint_url=fresh_moto.url)
    db = [_datum("DatabaseConnections", DB, k, 40 - k) for k in range(1, 11)]
    alb = [_datum("HTTPCode_Target_5XX_Count", ALB, k, v) for k in range(1, 11) for v in (1, 2)]
    alb += [_datum("TargetResponseTime", ALB, k, v) for k in range(1, 11) for v in (0.2, 0.3)]
    cache = [_datum("Evictions", CACHE, k, 0) for k in range(1, 11)]
    for namespace, data in (
        ("AWS/RDS", db),
        ("AWS/ApplicationELB", alb),
        ("AWS/ElastiCache", cache),
    ):
        cw.put_metric_data(Namespace=namespace, MetricData=data)
    return fresh_moto


def _one(env, metric, aggregate, window_s=300, **kwargs):
    return poll(SPEC, [Query(metric, aggregate, window_s)], now=NOW, env=env, **kwargs).readings[0]


def test_it_reads_the_launch_plan_metrics_from_cloudwatch(seeded, aws_env):
    queries = [
        Query("db-connections", "max", 300),
        Query("alb-5xx", "sum", 300),
        Query("response-time", "avg", 300),
        Query("evictions", "sum", 300),
    ]
    result = poll(SPEC, queries, now=NOW, env=aws_env)
    got = {r.metric: r for r in result.readings}
    assert (got["db-connections"].value, got["db-connections"].count) == (39.0, 5)
    assert got["alb-5xx"].value == 15.0  # 5 periods x (1 + 2)
    assert got["response-time"].value == pytest.approx(0.25)
    assert got["evictions"].value == 0.0  # zero is data, not "no data"
    assert got["evictions"].count == 5
    assert result.alarms == [] and result.polled_at.tzinfo is not None


def test_its_window_is_periods_starting_within_it_and_newest_is_value(seeded, aws_env):
    reading = _one(aws_env, "db-connections", "value", window_s=120)
    assert (reading.value, reading.count) == (39.0, 2)
    assert reading.at == NOW - timedelta(minutes=1)
    assert reading.at.tzinfo == UTC


def test_its_series_covers_the_chart_window_oldest_first(seeded, aws_env):
    reading = _one(aws_env, "db-connections", "max", chart_window_s=600)
    assert [v for _, v in reading.series] == [30.0 + i for i in range(10)]
    assert reading.series[0][0] == NOW - timedelta(minutes=10)


def test_a_metric_without_datapoints_has_no_value(fresh_moto, aws_env):
    reading = _one(aws_env, "db-connections", "max")
    assert (reading.value, reading.count, reading.at, reading.series) == (None, 0, None, [])


# --- throttling (reliability.md §3.1 T7) ---------------------------------------------------


def _with_replay(monkeypatch, replay: awsreplay.Replay, operation: str) -> None:
    """Attach `replay` to every client the collector makes."""
    real_new_client = aws.new_client

    def new_client(*args, **kwargs):
        client = real_new_client(*args, **kwargs)
        replay.attach(client, operation)
        return client

    monkeypatch.setattr(aws, "new_client", new_client)


def test_fewer_throttles_than_attempts_still_succeed(seeded, aws_env, monkeypatch):
    replay = awsreplay.Replay([awsreplay.throttle(), awsreplay.throttle()])  # then moto
    _with_replay(monkeypatch, replay, "GetMetricData")
    reading = _one(aws_env, "db-connections", "max")
    assert reading.value == 39.0
    assert len(replay.requests) == 3  # 2 throttled attempts + 1 that reached moto


def test_as_many_throttles_as_attempts_is_a_retryable_throttled_error(seeded, aws_env, monkeypatch):
    replay = awsreplay.Replay([awsreplay.throttle()] * 5)
    _with_replay(monkeypatch, replay, "GetMetricData")
    started = time.monotonic()
    with pytest.raises(SourceError) as caught:
        _one(aws_env, "db-connections", "max")
    assert (caught.value.kind, caught.value.retryable) == ("throttled", True)
    assert len(replay.requests) == aws.TOTAL_MAX_ATTEMPTS == 3  # never more than 3 per poll
    assert time.monotonic() - started < 4  # botocore's backoff: at most 1 s + 2 s
    assert "Throttling" in caught.value.detail and "request id" in caught.value.detail


# --- what moto cannot serve: canned CBOR answers --------------------------------------------


def test_a_percentile_stat_is_read_across_nexttoken_pages(aws_env, monkeypatch):
    """Recorded shape: TargetResponseTime p95, two pages. moto 5.2.5 crashes on Stat "p95"."""
    pages = awsreplay.load("get_metric_data_p95_pages.json")
    now = datetime.fromisoformat(pages["now"])
    replay = awsreplay.Replay([awsreplay.ok_page(page) for page in pages["pages"]])
    _with_replay(monkeypatch, replay, "GetMetricData")
    result = poll(SPEC, [Query("response-time-p95", "p(95)", 300)], now=now, env=aws_env)
    reading = result.readings[0]
    assert reading.value == 0.412  # the largest per-period p95: an upper bound of the window's
    assert reading.count == 5 and len(reading.series) == 10
    assert reading.at == datetime(2026, 11, 27, 9, 59, tzinfo=UTC)
    assert replay.params[0]["MetricDataQueries"][0]["MetricStat"]["Stat"] == "p95"
    assert replay.params[1]["NextToken"] == pages["pages"][0]["NextToken"]


def test_aws_credentials_error_codes_are_auth_errors(aws_env, monkeypatch):
    fixture = awsreplay.load("error_invalid_client_token.json")
    answer = lambda request: awsreplay.error_response(request, **fixture["error"])  # noqa: E731
    _with_replay(monkeypatch, awsreplay.Replay([answer]), "GetMetricData")
    with pytest.raises(SourceError) as caught:
        _one(aws_env, "db-connections", "max")
    assert (caught.value.kind, caught.value.retryable) == ("auth", False)
    assert "InvalidClientTokenId" in caught.value.detail


def test_moto_with_iam_checks_refuses_unknown_keys_as_auth():
    with running_moto_server(auth=True) as strict:
        env = {
            "AWS_ACCESS_KEY_ID": "AKIAUNKNOWNKEY",
            "AWS_SECRET_ACCESS_KEY": "nope",
            "AWS_REGION": "us-east-1",
            CW_ENDPOINT_ENV: strict.url,
        }
        with pytest.raises(SourceError) as caught:
            _one(env, "db-connections", "max")
    assert caught.value.kind == "auth"
    assert "nope" not in caught.value.message + caught.value.detail
