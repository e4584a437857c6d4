"""The markdown importer: a team's action plan in markdown -> a plan draft. No database."""

from pathlib import Path

import pytest

from checklists.engine.markdown_plan import NotAPlan, markdown_draft, markdown_text
from checklists.engine.plan import load_plan

ROOT = Path(__file__).resolve().parents[3]
SEED = ROOT / "tests/fixtures/markdown/launch-action-plan.md"  # the seed, as it was given
DEMO = ROOT / "checklists/plans/whatsapp-saas.yaml"
FIXTURES = ROOT / "tests/fixtures/markdown"


def draft_of(path: Path):
    return markdown_draft(path.read_text(encoding="utf-8"), str(path))


@pytest.fixture(scope="module")
def seed():
    return draft_of(SEED)


@pytest.fixture(scope="module")
def demo():
    return load_plan(DEMO.read_text(encoding="utf-8"), str(DEMO))


def test_it_drafts_a_plan_the_loader_takes(seed):
    assert load_plan(seed.yaml) == seed.plan
    assert seed.yaml.startswith("# DRAFT from ")


def test_it_reads_the_seeds_tasks_as_the_hand_written_plan_has_them(seed, demo):
    # The keys are slugs of the titles (the hand-written plan chose shorter ones), so tasks are
    # matched by title; the hand-written dependencies are not compared: the seed states none.
    def rows(plan):
        return sorted(
            (t.title.casefold(), t.estimate_minutes, t.priority, t.status) for t in plan.tasks
        )

    assert rows(seed.plan) == rows(demo)
    assert [t.key for t in seed.plan.tasks][:3] == [
        "fix-db-connection-pool",
        "deploy-to-staging",
        "verify-deployment",
    ]
    assert all(t.depends_on == () for t in seed.plan.tasks)


def test_it_computes_the_total_instead_of_copying_the_prose(seed):
    required = sum(t.estimate_minutes for t in seed.plan.tasks if t.priority != "optional")
    assert required == 210  # 3 h 30 min; the seed's "Total Time: 3 hours 10 minutes" is wrong
    total_line = next(s for s in seed.skipped if s.text.startswith("Total Time"))
    assert "computed from the tasks" in total_line.reason


def test_it_reads_the_seeds_risks_as_the_hand_written_plan_has_them(seed, demo):
    def rows(plan):
        return [
            (
                r.key,
                r.title,
                r.before_level,
                r.after_level,
                r.before_value,
                r.after_value,
                r.mitigation,
            )
            for r in plan.risks
        ]

    assert rows(seed.plan) == rows(demo)


def test_it_reads_the_seeds_thresholds_as_the_hand_written_plan_has_them(seed, demo):
    # What the seed states as a number against a named test. The hand-written plan also judges
    # "No memory leaks" as latency drift < 10% and AI API failures < 10 (from the risk table),
    # and database connections from an RDS source: none of that is in the seed's words.
    not_in_words = {"endurance-no-leaks", "ai-api-failures"}
    wanted = {
        (c.test, c.metric, c.threshold)
        for c in demo.criteria
        if c.test and c.key not in not_in_words
    }
    got = {(c.test, c.metric, c.threshold) for c in seed.plan.criteria if c.kind == "metric"}
    assert got == wanted
    assert {t.key for t in seed.plan.load_tests} == {c[0] for c in wanted}


def test_it_reads_the_checklist_titles_and_ticks(seed, demo):
    def rows(plan):
        return [(c.title, c.checked) for c in plan.criteria if c.section == "checklist"]

    assert rows(seed.plan) == rows(demo)


def test_a_check_said_twice_is_one_criterion(seed):
    # step 5 and step 10 repeat the checklist's "error rate < 1%" and "p95 < 400ms" for peak
    peak = [c for c in seed.plan.criteria if c.test == "peak"]
    assert sorted(c.threshold for c in peak) == ["count==0", "p(95)<400", "rate<0.01"]


def test_a_line_without_a_test_or_metric_is_a_manual_criterion(seed):
    c = next(c for c in seed.plan.criteria if c.title.startswith("Database connections"))
    assert c.kind == "manual" and c.section == "validation"
    assert "< 45" in c.description


def test_it_reads_the_launch_facts(seed, demo):
    launch = seed.plan.launch
    assert launch.target_at.date() == demo.launch.target_at.date()
    assert launch.name == "Load Test Action Plan - Pre-Launch Fixes"
    assert launch.slug == "load-test-action-plan-pre-launch-fixes"
    assert "pool exhaustion at 500 concurrent users" in launch.summary
    assert [s["title"] for s in launch.next_steps][2] == "Final stakeholder sign-off"
    assert [(s.key, s.title) for s in seed.plan.signoffs] == [
        (s.key, s.title) for s in demo.signoffs
    ]


def test_step_code_blocks_become_the_runbooks(seed):
    tasks = {t.key: t for t in seed.plan.tasks}
    assert "terraform apply -var-file=staging.tfvars" in tasks["deploy-to-staging"].runbook
    # steps 10 and 11 sit in the "Final Validation" section: both are its runbook
    assert "./run-all-tests.sh" in tasks["final-validation"].runbook
    assert "npm run test:smoke" in tasks["final-validation"].runbook
    assert "k6 run scripts/peak-load-test.js" in tasks["re-run-peak-load-test"].runbook


def test_it_reads_the_decision_tree(seed):
    gates = seed.plan.gates
    assert [g.title for g in gates] == [
        "Fix DB Pool → Deploy → Test",
        "Test Results?",
        "Upgrade Redis → Add Retries → Add Alerts",
        "Final Tests",
    ]
    assert gates[1].fail_label == "NO GO - Debug DB Issue"
    assert gates[3].pass_label == "GO FOR LAUNCH"
    assert gates[2].requires_tasks == ("upgrade-redis", "add-ai-retry-logic", "configure-alerts")


def test_it_reports_every_line_that_is_not_plan_data(seed):
    not_plan_data = {
        "the header's status, priority and hours remaining": {3, 4, 5},
        "step 1's list of files and captions": {21, 22, 23, 24, 25, 37, 57},
        "step 5's 'if all pass / if any fail'": {118, 119},
        "why, current, target and file notes of steps 6 to 9": {127, 129, 130, 155, 157, 211, 263},
        "'After completing all fixes, verify:'": {343},
        "'Total Time' (wrong; computed instead) and 'Overall Risk'": {372, 386},
        "'Once all fixes are applied and validated:'": {413},
        "support contacts": {438, 439, 440, 442, 443},
        "creation and completion dates (not the launch target)": {447, 448},
        "the closing status and list of files": {451, 453, 454, 455, 456, 457, 458},
    }
    assert {s.line for s in seed.skipped} == set().union(*not_plan_data.values())
    lines = SEED.read_text(encoding="utf-8").split("\n")
    for s in seed.skipped:
        assert lines[s.line - 1].strip(), f"line {s.line} is blank"
        assert s.reason


# --- other layouts ------------------------------------------------------------------------------
def test_a_table_with_owner_estimate_and_step_columns():
    d = draft_of(FIXTURES / "owner-est-step.md")
    assert [(t.key, t.estimate_minutes, t.priority, t.depends_on) for t in d.plan.tasks] == [
        ("freeze-the-schema", 90, "high", ()),
        ("migrate-orders", 90, "high", ("freeze-the-schema",)),
        ("switch-traffic", 20, "high", ("migrate-orders",)),
    ]
    assert [(c.test, c.metric, c.threshold) for c in d.plan.criteria] == [
        ("peak", "http_req_duration", "p(99)<1200"),
        ("peak", "http_req_failed", "rate<0.005"),
        ("spike", "http_req_failed", "rate<=0.02"),
    ]
    assert d.plan.launch.target_at.isoformat() == "2026-03-02T14:00:00+00:00"
    assert [(s.line, s.reason.split(":")[0]) for s in d.skipped] == [
        (12, "a timeline row without a task or a duration"),
        (14, "prose"),
    ]


def test_bullet_tasks_with_durations_priorities_and_after():
    d = draft_of(FIXTURES / "bullet-tasks.md")
    assert [
        (t.key, t.estimate_minutes, t.priority, t.status, t.depends_on) for t in d.plan.tasks
    ] == [
        ("provision-the-cluster", 45, "critical", "pending", ()),
        ("reindex-the-catalogue", 120, "high", "pending", ("provision-the-cluster",)),
        ("write-the-runbook", 30, "optional", "done", ()),
        ("announce-the-launch", 10, "high", "pending", ()),
    ]
    assert [(c.kind, c.test, c.threshold) for c in d.plan.criteria] == [
        ("metric", "baseline", "p(95)<300"),
        ("metric", "soak", "rate<0.01"),
        ("manual", "", ""),
    ]
    assert [s.line for s in d.skipped] == [18]


def test_numbered_step_headings_without_a_timeline():
    d = draft_of(FIXTURES / "heading-steps.md")
    assert [(t.title, t.estimate_minutes, t.priority) for t in d.plan.tasks] == [
        ("Snapshot the legacy database", 20, "critical"),
        ("Run the migration", 75, "critical"),
    ]
    assert "pg_dump legacy" in d.plan.tasks[0].runbook
    assert [(c.section, c.test, c.threshold) for c in d.plan.criteria] == [
        ("validation", "stress", "p(90)<800"),
        ("validation", "stress", "rate>=0.995"),
        ("validation", "", ""),
    ]
    assert [(r.key, r.before_level, r.after_level) for r in d.plan.risks] == [
        ("lost-invoices", "high", "high"),
        ("slow-ledger", "medium", "medium"),
    ]
    assert d.plan.launch.summary.startswith("Move invoices")
    # step 3 gives no duration: reported, not made a task with an invented estimate
    assert [s.line for s in d.skipped] == [23, 25, 29]
    assert "no duration" in d.skipped[0].reason


@pytest.mark.parametrize(
    ("line", "threshold"),
    [
        ("p99 latency under 1.2 s", "p(99)<1200"),
        ("error rate below 0.5 percent", "rate<0.005"),
        ("≤ 2% errors", "rate<=0.02"),
        ("p95 response time < 400ms", "p(95)<400"),
        ("p95 under 400 milliseconds", "p(95)<400"),
        ("p95 < 1.5s", "p(95)<1500"),
        ("Recovery below 1 min", "value<60"),
        ("Error rate < 1%", "rate<0.01"),
        ("Success > 95%", "rate>0.95"),
        ("Recovery < 30s", "value<30"),
        ("average latency at most 250 ms", "avg<=250"),
        ("No connection timeouts", "count==0"),
    ],
)
def test_threshold_phrasings(line, threshold):
    d = markdown_draft(f"# Plan\n\n## Peak test\n\n- {line}\n")
    assert [c.threshold for c in d.plan.criteria] == [threshold]
    assert d.plan.criteria[0].test == "peak"


@pytest.mark.parametrize(
    ("written", "minutes"),
    [
        ("1h30", 90),
        ("90 min", 90),
        ("1h 30m", 90),
        ("1.5 hours", 90),
        ("2 hours", 120),
        ("45m", 45),
        ("1:15", 75),
    ],
)
def test_durations(written, minutes):
    d = markdown_draft(f"# Plan\n\n- Deploy ({written}, high)\n")
    assert d.plan.tasks[0].estimate_minutes == minutes


def test_nothing_plan_like_is_refused():
    with pytest.raises(NotAPlan, match="nothing to draft"):
        markdown_draft("# Notes\n\nWe should launch soon.\n", "notes.md")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"  \n\n", "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00", "binary"),
        (b"# Plan \xff\xfe broken", "not UTF-8"),
    ],
)
def test_bad_input_is_refused_plainly(data, message):
    with pytest.raises(NotAPlan, match=message):
        markdown_text(data, "x.md")


def test_a_plan_titled_new_gets_a_slug_the_loader_takes():
    # /launches/new/ is the new-launch page: the loader refuses a launch called "new"
    d = markdown_draft("# New\n\n- Deploy (2h)\n", "new.md")
    assert d.plan.launch.slug == "new-launch"
    assert load_plan(d.yaml).launch.slug == "new-launch"


def test_a_draft_that_does_not_load_is_not_a_plan_with_the_loaders_reason():
    with pytest.raises(NotAPlan, match=r"does not load: .*'new' is kept for the new-launch"):
        markdown_draft("# Plan\n\n- Deploy (2h)\n", "plan.md", slug="new")
