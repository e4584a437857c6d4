"""The watch after GO through the services, with a real CloudWatch (moto's server) as the source
of the rollback trigger: go live on GO only, ramp up once a stage has held, a trigger in ALARM
turns the launch to ROLL BACK and keeps it there after the alarm clears, and it ends rolled back
or resumed, each change an Event whose version is rebuilt as it was served."""

from __future__ import annotations

import time
from datetime import timedelta

import orjson
import pytest
import time_machine
from django.utils import timezone

from checklists.board.report import as_markdown
from checklists.board.sections import past_json, render_and_share
from checklists.core.rollout import RolloutRefused, rollout_advance, rollout_end, rollout_start
from checklists.core.selectors import board_for_slug
from checklists.core.services import criterion_tick, plan_import, readiness_check
from checklists.engine.plan import load_plan
from checklists.models import Launch
from metrics.models import Source, SourceReading
from metrics.services import source_poll

PLAN = """
launch:
  slug: shop
  name: Shop go-live
  window: {start: 2030-01-01T09:00:00, end: 2030-01-01T11:00:00, timezone: Europe/Berlin}
tasks:
  - {key: deploy, title: Deploy, priority: critical, estimate: 10m, status: done}
sources:
  - key: alarms
    kind: cloudwatch-alarms
    title: CloudWatch alarms
    interval: 10s
    config:
      region_env: AWS_REGION
      endpoint_url_env: LAUNCHBOARD_AWS_ENDPOINT_URL
      alarms: [api-5xx]
criteria:
  - {key: smoke, title: Smoke tests passing}
  - key: alarm-5xx
    title: Alarm api-5xx is OK
    required: false
    source: alarms
    metric: api-5xx
    threshold: value==0
rollout:
  watch: 24h
  stages:
    - {key: canary, title: Canary, traffic: 10, hold: 1s, requires: [smoke]}
    - {key: full, title: All traffic, traffic: 100}
  triggers: [alarm-5xx]
rollback:
  - {key: undo, title: Undo the deploy, owner: devops, estimate: 5m}
"""


def alarm(cloudwatch, state: str) -> None:
    cloudwatch.put_metric_alarm(
        AlarmName="api-5xx",
        Namespace="AWS/ApplicationELB",
        MetricName="HTTPCode_Target_5XX_Count",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=10,
        ComparisonOperator="GreaterThanThreshold",
    )
    cloudwatch.set_alarm_state(AlarmName="api-5xx", StateValue=state, StateReason="test")


def poll(launch) -> None:
    outcome = source_poll(Source.objects.get(launch_id=launch.pk, key="alarms").pk)
    assert outcome.status == "polled", outcome.error


def served(launch) -> dict:
    return orjson.loads(render_and_share(launch.pk).api)


@pytest.fixture
def shop(db, aws):
    launch = plan_import(load_plan(PLAN, "shop.yaml")).launch
    alarm(aws, "OK")
    poll(launch)
    return launch


def test_it_goes_live_only_on_go(shop, aws):
    board = served(shop)
    assert board["verdict"] == "PENDING" and board["watch"]["phase"] == "preparing"
    with pytest.raises(RolloutRefused, match="needs GO; the verdict is PENDING"):
        rollout_start(shop)
    criterion_tick(shop.criteria.get(key="smoke"), checked=True)
    launch = rollout_start(shop)
    assert launch.phase == "live"
    started = launch.events.get(kind="rollout.started")
    assert started.summary == "went live at Canary (10% of traffic); watching 24 h"
    board = served(launch)
    assert board["verdict"] == "GO"
    assert board["watch"]["phase"] == "live"
    assert [s["status"] for s in board["watch"]["stages"]] == ["current", "next"]
    assert board["watch"]["headline"] == "Live: 10% of traffic, all clear."
    with pytest.raises(RolloutRefused, match="already live"):
        rollout_start(launch)


def test_a_stage_goes_on_once_it_has_held_and_its_criteria_hold(shop, aws):
    criterion_tick(shop.criteria.get(key="smoke"), checked=True)
    launch = rollout_start(shop)
    with pytest.raises(RolloutRefused, match="Canary holds until"):
        rollout_advance(launch)
    time.sleep(1.1)
    criterion_tick(launch.criteria.get(key="smoke"), checked=False, reason="smoke test flaked")
    with pytest.raises(RolloutRefused, match="Smoke tests passing is pending"):
        rollout_advance(launch)
    criterion_tick(launch.criteria.get(key="smoke"), checked=True)
    with pytest.raises(RolloutRefused, match="already at Canary"):
        rollout_advance(launch, expected_stage="full")
    launch = rollout_advance(launch, expected_stage="canary")
    assert served(launch)["watch"]["stages"][1]["status"] == "current"
    with pytest.raises(RolloutRefused, match="last stage"):
        rollout_advance(launch)


def test_a_firing_trigger_turns_the_launch_to_roll_back_and_it_stays(shop, aws):
    criterion_tick(shop.criteria.get(key="smoke"), checked=True)
    launch = rollout_start(shop)
    alarm(aws, "ALARM")
    poll(launch)  # the sample is judged at once: the trigger trips the watch
    launch.refresh_from_db()
    assert launch.tripped_at is not None and "Alarm api-5xx is OK" in launch.tripped_reason
    tripped = launch.events.get(kind="rollout.tripped")
    board = served(launch)
    assert board["watch"]["phase"] == "rollback"
    assert board["watch"]["triggers"][0]["status"] == "fired"
    assert board["verdict"] == "GO"  # the readiness contract is unchanged; the watch says it
    html = render_and_share(launch.pk).html["verdict"]
    assert "ROLL BACK" in html

    alarm(aws, "OK")
    poll(launch)
    assert served(launch)["watch"]["phase"] == "rollback"  # it does not clear by itself

    alarm(aws, "ALARM")
    poll(launch)
    with pytest.raises(RolloutRefused, match="still fires"):
        rollout_end(launch, outcome="resume", reason="false alarm")
    with pytest.raises(RolloutRefused, match="Say what happened"):
        rollout_end(launch, outcome="rolled_back", reason=" ")
    launch = rollout_end(launch, outcome="rolled_back", reason="5xx from the new image")
    board = served(launch)
    assert board["watch"]["phase"] == "rolled_back"
    assert launch.events.filter(kind="rollout.rolled_back").exists()

    # Each version is rebuilt as it was: the tripped one says ROLL BACK, and so does its report.
    past = orjson.loads(past_json(launch, tripped.version)[0])
    assert past["watch"]["phase"] == "rollback"
    assert past["watch"]["reason"] == board["watch"]["reason"]
    report = as_markdown(launch, tripped.version)
    assert "Watch after GO (24 h from " in report and "ROLL BACK: Alarm api-5xx is OK" in report
    assert "| Alarm api-5xx is OK | fired |" in report
    assert "Launch window: 2030-01-01 08:00 UTC to 2030-01-01 10:00 UTC (Europe/Berlin)" in report


def test_a_false_alarm_resumes_the_watch_once_the_trigger_is_quiet(shop, aws):
    criterion_tick(shop.criteria.get(key="smoke"), checked=True)
    launch = rollout_start(shop)
    alarm(aws, "ALARM")
    poll(launch)
    alarm(aws, "OK")
    poll(launch)
    launch = rollout_end(launch, outcome="resume", reason="the alarm's threshold was wrong")
    assert served(launch)["watch"]["phase"] == "live"
    assert Launch.objects.get(pk=launch.pk).tripped_at is None


def test_the_clock_records_a_stage_that_has_held_so_its_button_turns_on(shop, aws):
    criterion_tick(shop.criteria.get(key="smoke"), checked=True)
    launch = rollout_start(shop)
    readiness_check(launch.pk)  # the state the page was last looked at with: live, holding
    button = 'action="/launches/shop/rollout/advance/"'
    golive = render_and_share(launch.pk).html["golive"]
    assert button in golive and "disabled" in golive.split(button)[1].split("</form>")[0]
    time.sleep(1.1)
    assert readiness_check(launch.pk) is True  # the hold passed: a change of state, recorded
    event = launch.events.order_by("-version").first()
    assert event.kind == "readiness.changed"
    assert event.summary == "ramp-up: stage canary has held and may go on"
    golive = render_and_share(launch.pk).html["golive"]
    assert "disabled" not in golive.split(button)[1].split("</form>")[0]
    assert readiness_check(launch.pk) is False  # and once only


def test_a_plan_reimported_with_fewer_stages_leaves_the_launch_at_its_last(shop, aws):
    criterion_tick(shop.criteria.get(key="smoke"), checked=True)
    launch = rollout_start(shop)
    time.sleep(1.1)
    launch = rollout_advance(launch)
    plan_import(
        load_plan(
            PLAN.replace("    - {key: full, title: All traffic, traffic: 100}\n", ""), "shop.yaml"
        )
    )
    watch = served(launch)["watch"]
    assert [s["status"] for s in watch["stages"]] == ["current"]
    assert watch["phase"] == "live"
    with pytest.raises(RolloutRefused, match="last stage"):
        rollout_advance(launch)


def test_an_alarm_quiet_for_long_is_watched_as_of_its_last_poll(shop, aws):
    """CloudWatch changes an alarm's timestamp only when its state changes: one OK for half an
    hour, polled now, is fresh news that it is OK, not a reading half an hour old."""
    with time_machine.travel(timezone.now() + timedelta(minutes=30), tick=True):
        poll(shop)
        trigger = board_for_slug("shop").readiness.watch.triggers[0]
        assert trigger.status == "ok", trigger.why
        reading = SourceReading.objects.filter(metric="api-5xx").latest("polled_at")
        assert reading.text.startswith("OK: test (since ")
