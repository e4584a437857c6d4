"""The sentences a stakeholder reads, from two readiness states (pure: no database)."""

from notifications.changes import Names, failing, notice, reminder

NAMES = Names(
    launch="WhatsApp SaaS backend go-live",
    url="https://lb.example/launches/whatsapp-saas/",
    titles={"peak-p95": "Peak load p95 < 400ms", "alb-5xx": "ALB 5XX count"},
    sources={"alb-5xx": "Production CloudWatch"},
    observed={"peak-p95": "485 ms"},
    required=frozenset({"peak-p95", "alb-5xx"}),
)


def state(verdict="NO_GO", p95="pass", alb="pass", cto="pending", **extra):
    return {
        "verdict": verdict,
        "criteria": {"peak-p95": p95, "alb-5xx": alb},
        "signoffs": {"cto": cto},
    } | extra


def test_it_says_a_verdict_change_and_why_in_the_title():
    told = notice(state("NO_GO", p95="fail"), state("GO"), NAMES)
    assert told.title == (
        "WhatsApp SaaS backend go-live: verdict NO GO → GO. All 2 required criteria pass."
    )
    assert "Peak load p95 < 400ms: fail → pass (485 ms)" in told.lines
    assert told.lines[-1] == "Status: https://lb.example/launches/whatsapp-saas/"
    assert told.kind == "resolved"  # nothing fails any more: the all clear


def test_it_names_the_observed_figure_of_a_criterion_that_fails():
    told = notice(state(), state(p95="fail"), NAMES)
    assert (
        told.title == "WhatsApp SaaS backend go-live: Peak load p95 < 400ms: pass → fail (485 ms)."
    )
    assert told.kind == "change"


def test_a_live_source_going_stale_names_the_source():
    told = notice(state(), state(alb="stale"), NAMES)
    assert "Live source Production CloudWatch went stale" in told.title
    assert told.events[0]["type"] == "source.stale"


def test_sign_offs_requested_and_gone_stale():
    assert notice(state(cto="approved"), state(cto="stale"), NAMES).events[0]["type"] == (
        "signoff.stale"
    )
    asked = notice(state(cto="stale"), state(cto="pending"), NAMES)
    assert asked.events[0]["type"] == "signoff.requested"
    assert "cto sign-off requested" in asked.title


def test_a_fired_rollback_trigger_leads_with_its_reason_and_clears():
    live = {"phase": "live", "fired": [], "reason": ""}
    fired = {"phase": "rollback", "fired": ["alb-5xx"], "reason": "ALB 5XX count 14 > 5"}
    told = notice(state(watch=live), state(alb="fail", watch=fired), NAMES)
    assert told.title == "WhatsApp SaaS backend go-live: ROLL BACK: ALB 5XX count 14 > 5."
    assert "ALB 5XX count: pass → fail" in told.lines
    cleared = notice(state(alb="fail", watch=fired), state(watch=live), NAMES)
    assert cleared.kind == "resolved" and "Rollback trigger cleared (live)" in cleared.lines


def test_nothing_a_person_would_notice_is_no_message():
    assert notice(state(), state(), NAMES) is None
    # a criterion the plan just added is not news, nor a verdict first judged
    assert notice({}, state(), NAMES).events[0]["type"] == "signoff.requested"
    assert notice({"criteria": {}, "signoffs": {"cto": "pending"}}, state(), NAMES) is None


def test_a_reminder_lists_what_still_fails():
    assert failing(state()) == []
    told = reminder(state(p95="fail", cto="rejected"), NAMES)
    assert told.title == (
        "WhatsApp SaaS backend go-live: still failing — Peak load p95 < 400ms, cto sign-off."
    )
    assert reminder(state(), NAMES) is None


def test_a_ramp_up_stage_reached_is_told():
    ten = {"phase": "live", "stage": "ten", "fired": [], "reason": ""}
    half = ten | {"stage": "half"}
    told = notice(state(watch=ten), state(watch=half), NAMES)
    assert told.title == "WhatsApp SaaS backend go-live: Ramp-up: now at stage half."
