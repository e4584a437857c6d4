"""The readiness engine, without a database: truth tables and properties."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from checklists.engine import readiness as R
from checklists.engine.thresholds import parse_threshold

NOW = datetime(2025, 1, 18, 12, 0, tzinfo=UTC)
DEPLOYED = NOW - timedelta(hours=1)


def metric(key="peak-error-rate", threshold="rate<0.01", required=True, **kw):
    return R.CriterionIn(
        key=key,
        title=kw.pop("title", key),
        kind="metric",
        required=required,
        measure=kw.pop("measure", "Peak load error rate"),
        threshold=parse_threshold(threshold),
        unit=kw.pop("unit", "%"),
        **kw,
    )


def manual(key="redis", checked=False, required=True):
    return R.CriterionIn(key=key, title=key, kind="manual", required=required, checked=checked)


def plan(criteria=(), tasks=None, signoffs=(), gates=(), risks=(), waivers=()):
    if tasks is None:
        tasks = (R.TaskIn("deploy", "Deploy to staging", "critical", 10, "done", done_at=DEPLOYED),)
    return R.PlanIn(
        "x",
        "X",
        1,
        tuple(tasks),
        tuple(criteria),
        tuple(risks),
        tuple(gates),
        tuple(signoffs),
        tuple(waivers),
    )


def approved(role="cto", states=None):
    return R.SignOffIn(role, role.upper(), True, "approved", "ann", NOW, "", states or {})


def obs(value, at=NOW - timedelta(minutes=5), **kw):
    return R.Observation(value=value, at=at, label=kw.pop("label", "Peak run #3"), **kw)


# --- criteria ----------------------------------------------------------------------------------
def test_it_says_why_a_failing_metric_blocks_in_plain_words():
    r = R.evaluate(plan([metric()]), {"peak-error-rate": obs(0.021)}, NOW)
    assert r.verdict == R.NO_GO
    assert r.criteria[0].status == R.FAIL
    assert r.blockers[0] == "Peak load error rate 2.1% is not below 1%."


def test_it_passes_a_metric_within_its_threshold():
    r = R.evaluate(plan([metric()]), {"peak-error-rate": obs(0.003)}, NOW)
    assert r.criteria[0].status == R.PASS
    assert r.criteria[0].why == "Peak load error rate 0.3% is below 1%."
    assert r.verdict == R.GO


def test_no_evidence_is_pending_never_pass():
    r = R.evaluate(plan([metric()]), {}, NOW)
    assert r.criteria[0].status == R.PENDING_STATUS
    assert r.verdict == R.PENDING


def test_evidence_taken_before_the_task_it_must_follow_is_stale():
    c = metric(after="deploy")
    before_deploy = obs(0.001, at=DEPLOYED - timedelta(minutes=1))
    r = R.evaluate(plan([c]), {c.key: before_deploy}, NOW)
    assert r.criteria[0].status == R.STALE
    assert "before Deploy to staging was done" in r.criteria[0].why
    assert r.verdict == R.PENDING


def test_evidence_for_a_task_not_done_yet_is_stale():
    c = metric(after="deploy")
    tasks = (R.TaskIn("deploy", "Deploy to staging", "critical", 10, "pending"),)
    r = R.evaluate(plan([c], tasks=tasks), {c.key: obs(0.001)}, NOW)
    assert r.criteria[0].status == R.STALE


def test_evidence_older_than_its_limit_is_stale():
    c = metric(max_age_s=600)
    r = R.evaluate(plan([c]), {c.key: obs(0.001, at=NOW - timedelta(minutes=11))}, NOW)
    assert r.criteria[0].status == R.STALE
    r = R.evaluate(plan([c]), {c.key: obs(0.001, at=NOW - timedelta(minutes=9))}, NOW)
    assert r.criteria[0].status == R.PASS


def test_an_incomplete_run_cannot_pass():
    r = R.evaluate(plan([metric()]), {"peak-error-rate": obs(0.0, complete=False)}, NOW)
    assert r.criteria[0].status == R.PENDING_STATUS
    assert "interrupted" in r.criteria[0].why


def test_an_optional_failure_warns_and_does_not_block():
    c = metric(required=False)
    r = R.evaluate(plan([c]), {c.key: obs(0.5)}, NOW)
    assert r.criteria[0].status == R.WARN
    assert r.verdict == R.GO


def test_a_value_inside_the_warning_band_warns_but_passes_the_gate():
    c = metric(warn=parse_threshold("rate<0.005"))
    r = R.evaluate(plan([c]), {c.key: obs(0.007)}, NOW)
    assert r.criteria[0].status == R.WARN
    assert r.verdict == R.GO


def test_a_relative_threshold_needs_a_baseline():
    c = metric(threshold="p(95)<=+10%", unit="ms", measure="Peak p95")
    assert R.evaluate(plan([c]), {c.key: obs(430.0)}, NOW).criteria[0].status == "pending"
    r = R.evaluate(plan([c]), {c.key: obs(430.0, baseline=400.0)}, NOW)
    assert r.criteria[0].status == R.PASS
    r = R.evaluate(plan([c]), {c.key: obs(450.0, baseline=400.0)}, NOW)
    assert r.criteria[0].status == R.FAIL


def test_manual_criteria_pass_only_when_ticked():
    r = R.evaluate(plan([manual(checked=False)]), {}, NOW)
    assert (r.criteria[0].status, r.verdict) == (R.PENDING_STATUS, R.PENDING)
    r = R.evaluate(plan([manual(checked=True)]), {}, NOW)
    assert (r.criteria[0].status, r.verdict) == (R.PASS, R.GO)


def test_a_group_takes_the_worst_state_of_its_members():
    group = R.CriterionIn("all", "All load tests passing", "metric", all_of=("a", "b"))
    a, b = metric("a"), metric("b")
    r = R.evaluate(plan([a, b, group]), {"a": obs(0.001), "b": obs(0.02)}, NOW)
    assert r.criterion("all").status == R.FAIL
    assert r.criterion("all").why.startswith("1 of 2 pass.")
    r = R.evaluate(plan([a, b, group]), {"a": obs(0.001)}, NOW)
    assert r.criterion("all").status == R.PENDING_STATUS
    # each member's reason reads as a sentence of its own, never ".;"
    r = R.evaluate(plan([a, b, group]), {}, NOW)
    why = r.criterion("all").why
    assert ".;" not in why and why.count(".") >= 3 and "; " not in why


# --- waivers -----------------------------------------------------------------------------------
def test_a_waiver_accepts_a_failure_as_waived_never_pass():
    w = R.WaiverIn("peak-error-rate", "cto", "accepted", NOW + timedelta(days=1), 0.021)
    r = R.evaluate(plan([metric()], waivers=[w]), {"peak-error-rate": obs(0.021)}, NOW)
    assert r.criteria[0].status == R.WAIVED
    assert r.verdict == R.GO


def test_a_waiver_lapses_on_expiry_and_when_the_value_gets_worse():
    w = R.WaiverIn("peak-error-rate", "cto", "accepted", NOW - timedelta(seconds=1), 0.021)
    r = R.evaluate(plan([metric()], waivers=[w]), {"peak-error-rate": obs(0.021)}, NOW)
    assert r.criteria[0].status == R.FAIL
    w = R.WaiverIn("peak-error-rate", "cto", "accepted", None, 0.021)
    r = R.evaluate(plan([metric()], waivers=[w]), {"peak-error-rate": obs(0.03)}, NOW)
    assert r.criteria[0].status == R.FAIL
    assert "lapsed" in r.criteria[0].why


def test_a_waiver_never_covers_missing_evidence():
    w = R.WaiverIn("peak-error-rate", "cto", "accepted")
    r = R.evaluate(plan([metric()], waivers=[w]), {}, NOW)
    assert r.criteria[0].status == R.PENDING_STATUS


# --- tasks, gates, sign-offs, risks, progress --------------------------------------------------
def test_go_needs_every_required_task_done():
    tasks = (
        R.TaskIn("deploy", "Deploy to staging", "critical", 10, "done", done_at=DEPLOYED),
        R.TaskIn("alerts", "Configure alerts", "high", 45, "pending"),
        R.TaskIn("replica", "Read replica", "optional", 120, "pending"),
    )
    r = R.evaluate(plan([], tasks=tasks), {}, NOW)
    assert r.verdict == R.PENDING
    assert r.blockers == ("1 required task is not done: Configure alerts.",)


def test_a_blocked_task_is_named_with_its_reason():
    tasks = (R.TaskIn("redis", "Upgrade Redis", "high", 15, "blocked", blocked_reason="quota"),)
    r = R.evaluate(plan([], tasks=tasks), {}, NOW)
    assert "Task Upgrade Redis is blocked: quota." in r.blockers


def test_progress_counts_required_tasks_only():
    tasks = (
        R.TaskIn("a", "A", "critical", 5, "done"),
        R.TaskIn("b", "B", "high", 60, "in_progress"),
        R.TaskIn("c", "C", "optional", 120, "done"),
    )
    p = R.progress_of(tasks)
    assert (p.total_minutes, p.done_minutes, p.remaining_minutes, p.percent) == (65, 5, 60, 7.7)


def test_the_decision_path_stops_at_the_first_gate_not_passed():
    gates = (
        R.GateIn("g1", "Deploy", requires_tasks=("deploy",), pass_label="Test results?"),
        R.GateIn(
            "g2",
            "Results",
            requires_criteria=("peak-error-rate",),
            fail_label="NO GO - Debug DB Issue",
        ),
        R.GateIn("g3", "Final", requires_criteria=("redis",), pass_label="GO FOR LAUNCH"),
    )
    criteria = [metric(), manual(checked=False)]
    r = R.evaluate(plan(criteria, gates=gates), {"peak-error-rate": obs(0.02)}, NOW)
    assert [(g.status, g.on_path) for g in r.gates] == [
        ("pass", True),
        ("fail", True),
        ("pending", False),
    ]
    assert r.outcome == "NO GO - Debug DB Issue"
    assert r.gates[0].why == "Passed; next: Test results?"  # not "Test results?."
    criteria = [metric(), manual(checked=True)]
    r = R.evaluate(plan(criteria, gates=gates), {"peak-error-rate": obs(0.001)}, NOW)
    assert r.outcome == "GO FOR LAUNCH"
    assert r.verdict == R.GO


def test_go_waits_for_every_required_signoff_and_a_rejection_is_no_go():
    roles = [R.SignOffIn("cto", "CTO"), approved("devops")]
    r = R.evaluate(plan([], signoffs=roles), {}, NOW)
    assert (r.verdict, r.blockers) == (R.PENDING, ("CTO has not signed off yet.",))
    rejected = R.SignOffIn("cto", "CTO", True, "rejected", "ann", NOW, "pool still small")
    r = R.evaluate(plan([], signoffs=[rejected]), {}, NOW)
    assert r.verdict == R.NO_GO
    assert r.blockers == ("CTO rejected: pool still small",)


def test_an_approval_goes_stale_when_what_it_approved_regresses():
    signoff = approved(states={"peak-error-rate": "pass"})
    r = R.evaluate(plan([metric()], signoffs=[signoff]), {"peak-error-rate": obs(0.001)}, NOW)
    assert (r.signoffs[0].status, r.verdict) == ("approved", R.GO)
    r = R.evaluate(plan([metric()], signoffs=[signoff]), {"peak-error-rate": obs(0.05)}, NOW)
    assert r.signoffs[0].status == "stale"
    assert r.verdict == R.NO_GO


def test_a_risk_is_at_its_after_level_only_when_its_measures_pass():
    risk = R.RiskIn(
        "errors",
        "Peak load errors",
        "high",
        "2.1%",
        "low",
        "<0.5%",
        measured_by=("peak-error-rate",),
    )
    r = R.evaluate(plan([metric()], risks=[risk]), {}, NOW)
    assert (r.risks[0].current_level, r.overall_current) == ("high", "high")
    r = R.evaluate(plan([metric()], risks=[risk]), {"peak-error-rate": obs(0.003)}, NOW)
    assert (r.risks[0].current_level, r.risks[0].current_value) == ("low", "0.3%")
    assert (r.overall_before, r.overall_current) == ("high", "low")


# --- properties --------------------------------------------------------------------------------
STATUS_VALUES = {"pass": 0.001, "fail": 0.5, "pending": None, "stale": "stale"}


@st.composite
def launches(draw):
    n = draw(st.integers(1, 8))
    criteria, observations = [], {}
    for i in range(n):
        kind = draw(st.sampled_from(["manual", "metric"]))
        required = draw(st.booleans())
        if kind == "manual":
            criteria.append(manual(f"c{i}", checked=draw(st.booleans()), required=required))
            continue
        criteria.append(metric(f"c{i}", required=required, max_age_s=3600))
        outcome = draw(st.sampled_from(list(STATUS_VALUES)))
        if outcome == "stale":
            observations[f"c{i}"] = obs(0.001, at=NOW - timedelta(hours=2))
        elif STATUS_VALUES[outcome] is not None:
            observations[f"c{i}"] = obs(STATUS_VALUES[outcome])
    return criteria, observations


@settings(max_examples=200, deadline=None)
@given(launches(), st.randoms())
def test_the_verdict_does_not_depend_on_the_order_of_criteria(launch, rnd):
    criteria, observations = launch
    shuffled = list(criteria)
    rnd.shuffle(shuffled)
    a = R.evaluate(plan(criteria), observations, NOW)
    b = R.evaluate(plan(shuffled), observations, NOW)
    assert a.verdict == b.verdict
    assert sorted(a.blockers) == sorted(b.blockers)


@settings(max_examples=200, deadline=None)
@given(launches())
def test_one_failing_required_criterion_never_yields_go(launch):
    criteria, observations = launch
    r = R.evaluate(plan(criteria), observations, NOW)
    if any(c.status == R.FAIL and c.spec.required for c in r.criteria):
        assert r.verdict == R.NO_GO
    if r.verdict == R.GO:
        assert all(c.status in R.OK_STATUSES for c in r.criteria if c.spec.required)


@settings(max_examples=200, deadline=None)
@given(launches())
def test_stale_or_missing_evidence_never_counts_as_pass(launch):
    criteria, observations = launch
    r = R.evaluate(plan(criteria), observations, NOW)
    for c in r.criteria:
        o = observations.get(c.key)
        if c.spec.kind == "metric" and (o is None or o.at < NOW - timedelta(hours=1)):
            assert c.status in (R.PENDING_STATUS, R.STALE)
    if any(c.status in (R.STALE, R.PENDING_STATUS) for c in r.criteria if c.spec.required):
        assert r.verdict != R.GO


def test_values_are_formatted_for_people():
    assert R.format_value(0.021, "%") == "2.1%"
    assert R.format_value(0.0035, "%") == "0.35%"
    assert R.format_value(485.234, "ms") == "485 ms"
    assert R.format_value(42.37, "ms") == "42.4 ms"
    assert R.format_value(1245.0) == "1,245"
    assert R.format_value(0.4, "s") == "0.4 s"
    assert R.format_value(None) == "—"
