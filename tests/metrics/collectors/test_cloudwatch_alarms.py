"""The CloudWatch alarms collector: the seed plan's three alarms in moto's server mode, and a
canned two-page answer for what moto 5.2.5 cannot hold (composite and metric-math alarms)."""

from __future__ import annotations

from datetime import UTC, datetime

import boto3
import pytest

from metrics.collectors import Query, SourceError, SourceSpec, aws, poll
from tests.metrics.collectors import awsreplay
from tests.metrics.collectors.names import CW_ENDPOINT_ENV
from tests.support.moto_server import FAKE_CREDENTIALS

NOW = datetime.now(UTC)
SEED_ALARMS = [  # seed plan step 8 (alerts.tf)
    ("database-connections-high", "DatabaseConnections", "AWS/RDS", "Average", 40.0),
    ("api-high-error-rate", "5XXError", "AWS/ApplicationELB", "Sum", 10.0),
    ("api-slow-response", "TargetResponseTime", "AWS/ApplicationELB", "Average", 0.4),
]


def _spec(*names: str) -> SourceSpec:
    config = {"endpoint_url_env": CW_ENDPOINT_ENV, "alarms": list(names)}
    return SourceSpec(key="alarms", kind="cloudwatch-alarms", config=config)


@pytest.fixture
def seeded(fresh_moto):
    cw = boto3.session.Session(**FAKE_CREDENTIALS).client("cloudwatch", endpoint_url=fresh_moto.url)
    for name, metric, namespace, statistic, threshold in SEED_ALARMS:
        cw.put_metric_alarm(
            AlarmName=name, MetricName=metric, Namespace=namespace, Statistic=statistic,
            Period=300, EvaluationPeriods=2, Threshold=threshold,
            ComparisonOperator="GreaterThanThreshold",
        )  # fmt: skip
    cw.set_alarm_state(
        AlarmName="database-connections-high",
        StateValue="ALARM",
        StateReason="Threshold Crossed: 2 datapoints [46.0, 44.5] were greater than 40.0",
    )
    return fresh_moto


def test_it_reports_every_declared_alarm_in_the_declared_order(seeded, aws_env):
    names = ["api-slow-response", "database-connections-high", "api-high-error-rate"]
    result = poll(_spec(*names), [], now=NOW, env=aws_env)
    assert [a.name for a in result.alarms] == names
    assert result.readings == []
    firing = result.alarms[1]
    assert firing.state == "ALARM"
    assert firing.reason.startswith("Threshold Crossed: 2 datapoints")
    assert (firing.metric, firing.threshold) == ("AWS/RDS/DatabaseConnections", 40.0)
    assert firing.comparison == "GreaterThanThreshold"
    assert firing.updated_at.tzinfo == UTC
    assert {a.state for a in (result.alarms[0], result.alarms[2])} <= {"OK", "INSUFFICIENT_DATA"}


def test_a_declared_alarm_that_does_not_exist_is_reported_missing(seeded, aws_env):
    result = poll(_spec("database-connections-high", "renamed-alarm"), [], now=NOW, env=aws_env)
    missing = result.alarms[1]
    assert (missing.name, missing.state) == ("renamed-alarm", "MISSING")
    assert missing.reason == 'No alarm named "renamed-alarm" exists in CloudWatch at ' + (
        f"{seeded.url} (us-east-1)"
    )
    assert missing.updated_at == result.polled_at
    assert (missing.metric, missing.threshold, missing.comparison) == (None, None, None)


def test_composite_and_metric_math_alarms_across_pages(aws_env, monkeypatch):
    """Canned answer (moto 5.2.5 cannot create composite alarms or evaluate metric math)."""
    pages = awsreplay.load("describe_alarms_math_and_composite.json")["pages"]
    replay = awsreplay.Replay([awsreplay.ok_page(page) for page in pages])
    real_new_client = aws.new_client

    def new_client(*args, **kwargs):
        client = real_new_client(*args, **kwargs)
        replay.attach(client, "DescribeAlarms")
        return client

    monkeypatch.setattr(aws, "new_client", new_client)
    result = poll(_spec("launch-blockers", "api-error-rate-percent"), [], now=NOW, env=aws_env)
    composite, math = result.alarms
    assert (composite.state, composite.metric, composite.threshold) == ("ALARM", None, None)
    assert composite.updated_at == datetime(2026, 11, 27, 9, 57, 41, 250000, tzinfo=UTC)
    assert (math.state, math.metric, math.threshold) == ("OK", "5XX % of requests", 1.0)
    assert replay.params[0]["AlarmTypes"] == ["MetricAlarm", "CompositeAlarm"]
    assert replay.params[1]["NextToken"] == pages[0]["NextToken"]


def test_an_alarm_source_takes_no_metric_queries(aws_env):
    with pytest.raises(SourceError) as caught:
        poll(_spec("database-connections-high"), [Query("x", "max", 60)], now=NOW, env=aws_env)
    assert caught.value.kind == "config"
