"""The demo's embedded CloudWatch (launchboard/demo/cloud.py): moto in this process, fed from the
stand-in API as AWS feeds CloudWatch, read back by the real collectors through the services beat
calls, so the demo launch's live criteria are judged from what the stand-in served."""

from __future__ import annotations

import os
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

from launchboard.demo.cloud import ENDPOINT_ENV, Alarm, EmbeddedCloudWatch, Tick
from launchboard.demo.standin import Backend, StandIn
from launchboard.demo.story import Story
from metrics.models import Source
from metrics.services import source_poll

AWS_VARIABLES = (ENDPOINT_ENV, "AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")


@pytest.fixture
def environ():
    """This process's environment, as it was: the demo points CloudWatch at itself there."""
    saved = dict(os.environ)
    for name in AWS_VARIABLES:
        os.environ.pop(name, None)
    yield os.environ
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture
def running(demo, environ):
    # a pool of 2 that runs dry at once: requests waiting 20 ms for a connection fail with 503
    standin = StandIn(Backend(pool=2, hold_ms=40, wait_ms=20))
    cloud = EmbeddedCloudWatch(demo, standin, every_s=3600, trickle=0)  # the test feeds it
    assert cloud.start() == ""
    yield standin, cloud
    cloud.stop()
    standin.stop()


def poll_aws(launch) -> None:
    """Poll the launch's CloudWatch sources once, each poll answered (or its error shown)."""
    for source in Source.objects.filter(launch=launch, kind__startswith="cloudwatch"):
        outcome = source_poll(source.pk)
        assert outcome.status == "polled", (source.key, outcome.status, outcome.error)


def statuses(client) -> dict:
    data = client.get("/api/launches/whatsapp-saas/").json()
    return {c["key"]: c for c in data["criteria"]}


def get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_the_live_criteria_are_judged_from_what_the_stand_in_served(demo, running, client):
    standin, cloud = running
    assert statuses(client)["db-connections"]["status"] == "pending"
    with ThreadPoolExecutor(max_workers=30) as pool:
        answers = list(pool.map(get, [f"{standin.url}/api/messages"] * 120))
    failed = answers.count(503)
    assert failed and answers.count(200) + failed == 120  # the pool ran dry for some
    time.sleep(1.1)  # only whole seconds are fed
    tick = cloud.feed()
    assert (tick.requests, tick.errors) == (120, failed)
    assert 0 < tick.connections <= 2  # never more than the pool holds

    time.sleep(1.1)  # moto reads its query's end to the whole second
    poll_aws(demo)
    shown = statuses(client)
    assert (shown["db-connections"]["status"], shown["db-connections"]["observed"]) == (
        "pass",
        tick.connections,
    )
    assert shown["alb-5xx"]["observed"] == failed
    # over 10 in 5 min crosses the line; an optional criterion only warns
    assert shown["alb-5xx"]["status"] == ("pass" if failed <= 10 else "warn")
    assert shown["alb-response-time"]["observed"] == pytest.approx(tick.seconds / tick.requests)
    assert shown["cache-evictions"]["status"] == "pass", shown["cache-evictions"]["why"]
    for source in Source.objects.filter(launch=demo, kind__startswith="cloudwatch"):
        assert (source.configured, source.health) == (True, "ok"), source.key
    # The InfluxDB source is not embedded: still "not configured", never passing.
    assert statuses(client)["live-peak-p95"]["status"] == "pending"

    said = Story(standin=standin, cloud=cloud).cloudwatch()
    assert said.startswith(f"RDS: at most {tick.connections:g} of 50 connections in 5 min (pass)")
    assert said.endswith("alarms OK: 3 of 3")


def test_an_alarm_breaching_every_period_fails_its_criterion_then_recovers(demo, running, client):
    _, cloud = running
    now = time.time()
    cloud.history.clear()
    cloud.history.extend([tick(now - 590, connections=45), tick(now - 290, connections=44)])
    states = cloud.judge_alarms(now)
    assert states["database-connections-high"] == "ALARM"
    poll_aws(demo)
    alarm = statuses(client)["alarm-db-connections"]
    assert alarm["status"] == "warn" and "ALARM" in alarm["why"]  # optional: it warns

    cloud.history.append(tick(now - 10, connections=5))  # the last period's average: 24.5
    assert cloud.judge_alarms(now)["database-connections-high"] == "OK"
    poll_aws(demo)
    assert statuses(client)["alarm-db-connections"]["status"] == "pass"


def tick(at: float, connections: float = 0.0, requests: int = 0, errors: int = 0) -> Tick:
    return Tick(at, connections, requests, errors, 0.01 * requests, 0.01, 0.01)


ALARM = Alarm(
    "database-connections-high",
    "alarm-db-connections",
    "AWS/RDS",
    "DatabaseConnections",
    "Average",
    "GreaterThanThreshold",
    40,
    300,
    2,
)


def test_an_alarm_is_judged_as_cloudwatch_treats_missing_data():
    now = 10_000.0
    assert ALARM.state([], now)[0] == "INSUFFICIENT_DATA"
    # One period breaching, the other without data: not enough to alarm.
    assert ALARM.state([tick(now - 100, connections=48)], now)[0] == "OK"
    both = [tick(now - 400, connections=41), tick(now - 100, connections=48)]
    state, reason = ALARM.state(both, now)
    assert state == "ALARM" and reason.startswith("Threshold Crossed: 2 datapoints [41, 48]")
    # Averages, not maxima: a brief 48 among 30s keeps the period under 40.
    calm = [*both, tick(now - 90, connections=30), tick(now - 80, connections=30)]
    assert ALARM.state(calm, now)[0] == "OK"
    # The load balancer says nothing without traffic: its 5XX alarm has no data.
    errors = Alarm(
        "e", "alarm-e", "AWS/ApplicationELB", "5XXError", "Sum", "GreaterThanThreshold", 10, 300, 2
    )
    assert errors.state([tick(now - 100)], now)[0] == "INSUFFICIENT_DATA"
    assert (
        errors.state(
            [
                tick(now - 400, requests=50, errors=11),
                tick(now - 100, requests=9, errors=9),
                tick(now - 50, requests=2, errors=2),
            ],
            now,
        )[0]
        == "ALARM"
    )


def test_a_cloudwatch_set_up_here_is_left_alone(demo, environ):
    environ[ENDPOINT_ENV] = "http://127.0.0.1:9"
    with StandIn(Backend()) as standin:
        cloud = EmbeddedCloudWatch(demo, standin)
        assert ENDPOINT_ENV in cloud.start()
        cloud.stop()
    assert environ[ENDPOINT_ENV] == "http://127.0.0.1:9" and "AWS_REGION" not in environ


def test_the_pool_gauge_never_shows_more_connections_than_the_pool_has():
    """The demo says "20.0 of 20 in use" at the failing peak, never 20.2: a hold that spans two
    seconds counts in each for the part that fell in it."""
    backend = Backend(pool=3, hold_ms=30, wait_ms=50)
    stop = time.monotonic() + 2.5

    def hammer(_):
        while time.monotonic() < stop:
            backend.query()

    with ThreadPoolExecutor(max_workers=24) as pool:
        list(pool.map(hammer, range(24)))
    time.sleep(1.01)  # the last second complete
    busiest = backend.metrics()["connections"]
    assert 2.5 <= busiest <= 3.0, busiest  # saturated, and not a hair over the pool
