"""Live criteria judged through the collectors alone: real k6 into a real InfluxDB 1.x, and
CloudWatch through boto3 against moto's server."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import pytest

from metrics.models import Source
from metrics.services import source_poll
from tests.checklists.conftest import put_connections
from tests.support.influxdb import running_influxdb
from tests.support.target import running_target
from tests.support.tools import run_k6

pytestmark = pytest.mark.slow
SCRIPT = Path(__file__).with_name("k6_live_peak.js")


def statuses(client) -> dict:
    data = client.get("/api/launches/whatsapp-saas/").json()
    return {c["key"]: c for c in data["criteria"]}


def test_k6_into_influxdb_drives_a_live_criterion_pending_pass_stale(demo, client, monkeypatch):
    source = Source.objects.get(launch=demo, key="k6-influx")
    assert statuses(client)["live-peak-error-rate"]["status"] == "pending"
    assert "not configured" in statuses(client)["live-peak-error-rate"]["why"]
    with running_influxdb() as influx, running_target() as target:
        monkeypatch.setenv("LAUNCHBOARD_K6_INFLUXDB_URL", influx.url)
        influx.query("CREATE DATABASE k6")  # the monitoring InfluxDB, before the re-test
        assert source_poll(source.pk).status == "polled"  # configured, but no data yet
        criterion = statuses(client)["live-peak-error-rate"]
        assert criterion["status"] == "pending"
        assert "No data" in criterion["why"]

        run_k6(SCRIPT, env={"BASE": target.url}, out=[f"influxdb={influx.url}/k6"])
        assert source_poll(source.pk).status == "polled"
        now = statuses(client)
        assert now["live-peak-error-rate"]["status"] == "pass"
        assert now["live-peak-error-rate"]["observed"] == 0
        assert now["live-peak-p95"]["status"] == "pass"
        assert 20 <= now["live-peak-p95"]["observed"] < 400

        # The data stops: with a 3 s staleness limit the criterion turns stale, never pass.
        Source.objects.filter(pk=source.pk).update(stale_after_seconds=3)
        time.sleep(4)
        assert source_poll(source.pk).status == "polled"
        criterion = statuses(client)["live-peak-error-rate"]
        assert criterion["status"] == "stale"
        assert "stale" in criterion["why"]


def test_an_unreachable_source_fails_cleanly_and_the_others_keep_updating(
    demo, client, monkeypatch
):
    monkeypatch.setenv("LAUNCHBOARD_K6_INFLUXDB_URL", "http://127.0.0.1:9")  # nothing listens
    source = Source.objects.get(launch=demo, key="k6-influx")
    outcome = source_poll(source.pk)
    assert outcome.status == "failed"
    assert outcome.error.kind == "unreachable"
    source.refresh_from_db()
    assert (source.health, source.consecutive_failures) == ("failing", 1)
    assert source.last_error
    criterion = statuses(client)["live-peak-error-rate"]
    assert criterion["status"] == "pending"
    assert "failing" in criterion["why"]
    # Two failures make one event: when the source started failing.
    source_poll(source.pk)
    assert demo.events.filter(kind="source.failed").count() == 1


def test_rds_connections_through_cloudwatch_pass_then_fail(demo, client, aws):
    rds = Source.objects.get(launch=demo, key="rds")
    put_connections(aws, [31, 38, 42])
    assert source_poll(rds.pk).status == "polled"
    criterion = statuses(client)["db-connections"]
    assert (criterion["status"], criterion["observed"]) == ("pass", 42)
    put_connections(aws, [48])
    assert source_poll(rds.pk).status == "polled"
    criterion = statuses(client)["db-connections"]
    assert (criterion["status"], criterion["observed"]) == ("fail", 48)
    assert criterion["why"] == "Peak RDS connections 48 is not below 45."


def test_an_alarm_moving_to_alarm_turns_its_criterion(demo, client, aws):
    for name in ("database-connections-high", "api-high-error-rate", "api-slow-response"):
        aws.put_metric_alarm(
            AlarmName=name,
            MetricName="DatabaseConnections",
            Namespace="AWS/RDS",
            Statistic="Average",
            Period=300,
            EvaluationPeriods=2,
            Threshold=40,
            ComparisonOperator="GreaterThanThreshold",
        )
        aws.set_alarm_state(AlarmName=name, StateValue="OK", StateReason="fine")
    alarms = Source.objects.get(launch=demo, key="alarms")
    assert source_poll(alarms.pk).status == "polled"
    assert statuses(client)["alarm-db-connections"]["status"] == "pass"
    aws.set_alarm_state(
        AlarmName="database-connections-high",
        StateValue="ALARM",
        StateReason="Threshold Crossed: 2 datapoints > 40",
    )
    assert source_poll(alarms.pk).status == "polled"
    criterion = statuses(client)["alarm-db-connections"]
    assert criterion["status"] == "warn"  # optional in the demo plan: it warns, never passes
    assert criterion["observed_text"] == "ALARM"


def test_collect_on_the_demo_reports_every_source_not_configured(demo, monkeypatch):
    import io

    import orjson
    from django.core.management import call_command

    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "LAUNCHBOARD_K6_INFLUXDB_URL"):
        monkeypatch.delenv(name, raising=False)
    out = io.StringIO()
    call_command("collect", "--launch", "whatsapp-saas", "--json", stdout=out)  # exit 0
    sources = orjson.loads(out.getvalue())["sources"]
    assert {s["key"] for s in sources} == {"k6-influx", "rds", "alb", "elasticache", "alarms"}
    assert {s["status"] for s in sources} == {"not_configured"}
    assert all(s["note"] for s in sources)


def test_a_poll_never_overlaps_another_of_the_same_source(demo):
    """reliability.md T6/T8: a retry, a scheduled poll or a second beat meeting one source take
    turns (a lease on the source row), and the lease is released after a failed poll too."""
    from django.utils import timezone

    source = Source.objects.get(launch=demo, key="k6-influx")
    env = {source.config["url_env"]: "http://127.0.0.1:9"}  # nothing listens: refused
    Source.objects.filter(pk=source.pk).update(polling_until=timezone.now() + timedelta(seconds=30))
    assert source_poll(source.pk, env=env).status == "busy"
    assert Source.objects.get(pk=source.pk).last_polled_at is None  # it did not poll
    Source.objects.filter(pk=source.pk).update(polling_until=None)
    assert source_poll(source.pk, env=env, timeout_s=1).status == "failed"
    assert Source.objects.get(pk=source.pk).polling_until is None
