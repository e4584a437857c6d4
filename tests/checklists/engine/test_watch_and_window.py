"""The launch window, the rollout and the rollback plan in a plan file, and the watch judged from
them (pure: no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from checklists.board.charts import burndown_figure
from checklists.board.presenters import forecast, pace_of
from checklists.engine import readiness as engine
from checklists.engine.plan import PlanError, dump_plan, load_plan
from checklists.engine.watch import RolloutIn, StageIn, evaluate_watch

BASE = """
launch:
  slug: shop
  name: Shop
{window}
criteria:
  - {{key: smoke, title: Smoke}}
  - {{key: errors, title: Errors, source: live, metric: errors, threshold: value==0}}
sources:
  - key: live
    kind: cloudwatch-alarms
    title: Alarms
    config: {{region_env: AWS_REGION, alarms: [errors]}}
{rollout}
"""
WINDOW = "  window: {start: 2025-01-19T10:00:00, end: 2025-01-19T12:00:00, timezone: Europe/Berlin}"
ROLLOUT = """rollout:
  watch: 24h
  stages:
    - {key: canary, title: Canary, traffic: 10%, hold: 30m, requires: [smoke]}
    - {key: all, title: All, traffic: 100}
  triggers: [errors]
rollback:
  - {key: undo, title: Undo, owner: devops, estimate: 10m, runbook: kubectl rollout undo}
"""


def plan(window=WINDOW, rollout=ROLLOUT):
    return load_plan(BASE.format(window=window, rollout=rollout), "shop.yaml")


def test_it_reads_the_window_in_its_own_time_zone():
    launch = plan().launch
    assert launch.window_start == datetime(2025, 1, 19, 9, tzinfo=UTC)
    assert launch.window_end == datetime(2025, 1, 19, 11, tzinfo=UTC)
    assert launch.timezone == "Europe/Berlin"
    assert launch.rollout["stages"][0] == {
        "key": "canary",
        "title": "Canary",
        "traffic": 10,
        "hold_seconds": 1800,
        "requires": ["smoke"],
    }
    assert launch.rollback[0]["owner"] == "devops" and launch.rollback[0]["estimate_minutes"] == 10


def test_the_window_rollout_and_rollback_survive_export():
    spec = plan()
    assert load_plan(dump_plan(spec)) == spec


@pytest.mark.parametrize(
    ("window", "rollout", "line", "message"),
    [
        (
            "  window: {start: 2025-01-19T12:00:00, end: 2025-01-19T10:00:00}",
            "",
            5,
            "end must come after start",
        ),
        (
            "  window: {start: 2025-01-19T10:00:00, end: 2025-01-19T12:00:00, timezone: Mars/Base}",
            "",
            5,
            "'Mars/Base' is not a time zone",
        ),
        (WINDOW, ROLLOUT.replace("triggers: [errors]", "triggers: [smoke]"), 19, "live source"),
        (WINDOW, ROLLOUT.replace("traffic: 100", "traffic: 5"), 18, "traffic must grow"),
        (WINDOW, ROLLOUT.replace("requires: [smoke]", "requires: [nope]"), 17, "'nope'"),
        (WINDOW, ROLLOUT.replace("traffic: 10%", "traffic: 120%"), 17, "at most 100%"),
    ],
)
def test_a_bad_window_or_rollout_names_its_line(window, rollout, line, message):
    with pytest.raises(PlanError) as caught:
        plan(window, rollout)
    assert message in caught.value.message
    assert caught.value.line == line


NOW = datetime(2025, 1, 19, 12, tzinfo=UTC)
ROLL = RolloutIn(
    watch_minutes=24 * 60,
    stages=(StageIn("canary", "Canary", 10, 1800, ("smoke",)), StageIn("all", "All", 100)),
    triggers=("errors",),
)


def result(key, status, failing=False):
    spec = engine.CriterionIn(key=key, title=key.capitalize(), kind="metric")
    return engine.CriterionResult(spec, status, f"{key} is {status}.", failing=failing)


def live(**changes):
    base = {
        "phase": "live",
        "live_at": NOW - timedelta(hours=1),
        "stage_at": NOW - timedelta(hours=1),
    }
    return RolloutIn(**{**ROLL.__dict__, **base, **changes})


def test_before_go_live_it_waits_for_go():
    criteria = {"smoke": result("smoke", "pass"), "errors": result("errors", "pass")}
    assert evaluate_watch(ROLL, criteria, "PENDING", NOW).can_go_live is False
    watch = evaluate_watch(ROLL, criteria, "GO", NOW)
    assert watch.phase == "preparing" and watch.can_go_live


def test_a_stage_waits_for_its_hold_and_its_criteria():
    criteria = {"smoke": result("smoke", "pending"), "errors": result("errors", "pass")}
    held = evaluate_watch(live(stage_at=NOW - timedelta(minutes=10)), criteria, "GO", NOW)
    assert held.current.blockers == ("Canary holds until 12:20 UTC.", "Smoke is pending.")
    assert not held.can_advance
    criteria["smoke"] = result("smoke", "pass")
    ready = evaluate_watch(live(), criteria, "GO", NOW)
    assert ready.can_advance and ready.headline == "Live: 10% of traffic, all clear."


def test_a_failing_trigger_means_roll_back_and_a_blind_one_is_said():
    criteria = {"smoke": result("smoke", "pass"), "errors": result("errors", "stale")}
    blind = evaluate_watch(live(), criteria, "GO", NOW)
    assert blind.phase == "live" and blind.blind == ("errors",)
    assert "not watched" in blind.headline
    criteria["errors"] = result("errors", "warn", failing=True)
    fired = evaluate_watch(live(), criteria, "GO", NOW)
    assert fired.phase == "rollback" and fired.fired == ("errors",)
    assert fired.reason == "Errors: errors is warn."
    assert fired.state() == {
        "phase": "rollback",
        "stage": "canary",
        "fired": ["errors"],
        "reason": "Errors: errors is warn.",
        "can_advance": False,
    }
    criteria["errors"] = result("errors", "pass")
    latched = evaluate_watch(live(tripped_at=NOW, tripped_reason="5xx"), criteria, "GO", NOW)
    assert latched.phase == "rollback" and latched.reason == "5xx"


def test_the_watch_completes_at_the_last_stage_after_its_hours():
    criteria = {"smoke": result("smoke", "pass"), "errors": result("errors", "pass")}
    late = NOW + timedelta(hours=24)
    assert evaluate_watch(live(), criteria, "GO", late).phase == "live"  # still at 10%
    done = evaluate_watch(live(stage=1), criteria, "GO", late)
    assert done.phase == "complete" and done.headline == "Watch complete: 24 h live, all clear."
    # over: an alarm a week later is shown, not a reason to roll back
    criteria["errors"] = result("errors", "warn", failing=True)
    later = evaluate_watch(live(stage=1), criteria, "GO", late + timedelta(days=7))
    assert later.phase == "complete" and later.fired == ("errors",)
    # a trip recorded before the end stands
    tripped = evaluate_watch(live(stage=1, tripped_at=NOW), criteria, "GO", late)
    assert tripped.phase == "rollback"


def test_a_stage_that_has_held_is_a_change_of_state_the_clock_records():
    criteria = {"smoke": result("smoke", "pass"), "errors": result("errors", "pass")}
    rollout = live(stage_at=NOW - timedelta(minutes=10))
    holding = evaluate_watch(rollout, criteria, "GO", NOW).state()
    held = evaluate_watch(rollout, criteria, "GO", NOW + timedelta(minutes=20)).state()
    assert (holding["can_advance"], held["can_advance"]) == (False, True)


def task(key, minutes, status="pending", started=None, done=None, deps=()):
    return engine.TaskIn(
        key=key,
        title=key,
        priority="critical",
        minutes=minutes,
        status=status,
        depends_on=deps,
        started_at=started,
        done_at=done,
    )


def test_the_forecast_goes_at_the_pace_of_the_work_done():
    t0 = datetime(2025, 1, 19, 6, tzinfo=UTC)
    tasks = (
        # estimated 10 + 20 minutes, took 20 + 40: twice the estimates
        task("a", 10, "done", t0, t0 + timedelta(minutes=20)),
        task("b", 20, "done", t0, t0 + timedelta(minutes=40)),
        task("c", 30, deps=("a",)),
        task("d", 45, deps=("c",)),
        task("e", 60),  # in parallel with c and d
        task("f", 5, "done", None, t0),  # done without being started: not timed
        task("g", 30, "done", t0, t0 + timedelta(seconds=20)),  # two clicks: not timed
    )
    assert pace_of(tasks) == (2.0, 2)
    spec = engine.PlanIn(
        slug="s",
        name="S",
        tasks=tasks,
        window_start=t0 + timedelta(hours=3),
        window_end=t0 + timedelta(hours=4),
    )
    got = forecast(spec, t0 + timedelta(hours=1))
    assert got["critical_path_minutes"] == 75 and got["expected_minutes"] == 150
    assert got["finish_at"] == "2025-01-19T09:30:00+00:00"
    assert got["window"] == "inside" and got["meets_window"] is True
    assert forecast(spec, t0 + timedelta(hours=2))["window"] == "after"


def test_a_launch_cannot_take_the_new_launch_pages_slug():
    with pytest.raises(PlanError, match="'new' is kept for the new-launch page"):
        load_plan("launch: {slug: new, name: New}", "new.yaml")


def test_the_burn_down_steps_down_at_each_task_done_and_forecasts_at_the_pace():
    t0 = datetime(2025, 1, 19, 6, tzinfo=UTC)
    tasks = (
        task("a", 10, "done", t0, t0 + timedelta(minutes=20)),
        task("b", 30, deps=("a",)),
        engine.TaskIn(key="x", title="x", priority="optional", minutes=120),
    )
    now = t0 + timedelta(minutes=20)
    figure = burndown_figure(tasks, now, 2.0, (t0 + timedelta(hours=2), t0 + timedelta(hours=3)))
    plan, done, ahead = figure["data"]
    assert plan["y"] == [40, 0] and plan["x"][1] == "2025-01-19 06:40:00"  # optional work left out
    assert done["y"] == [40, 30, 30] and done["x"][1] == "2025-01-19 06:20:00"
    assert ahead["x"] == ["2025-01-19 06:20:00", "2025-01-19 07:20:00"]  # 30 min at twice
    window = next(s for s in figure["layout"]["shapes"] if s["name"] == "window")
    assert (window["x0"], window["x1"]) == ("2025-01-19 08:00:00", "2025-01-19 09:00:00")
