"""import_plan / export_plan: the plan-as-code contract."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from checklists.engine.plan import dump_plan, load_plan
from checklists.models import Criterion, Event, Launch, Task
from tests.checklists.plans import sized_plan


def run(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def write(tmp_path, text, name="plan.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_the_demo_plan_loads_and_round_trips_through_yaml(demo_plan_text):
    spec = load_plan(demo_plan_text, "whatsapp-saas.yaml")
    assert load_plan(dump_plan(spec)) == spec


def test_import_creates_the_demo_launch_and_reimport_is_a_no_op(db, tmp_path, settings):
    path = str(settings.DEMO_PLAN)
    assert "created" in run("import_plan", path)
    launch = Launch.objects.get(slug="whatsapp-saas")
    assert launch.tasks.count() == 10
    assert (launch.version, Event.objects.count()) == (1, 1)
    assert Event.objects.get().actor_name == f"import_plan {path}"
    assert "unchanged" in run("import_plan", path)
    launch.refresh_from_db()
    assert (launch.version, Event.objects.count()) == (1, 1)


def test_export_piped_into_import_changes_nothing(demo, tmp_path):
    exported = run("export_plan", "whatsapp-saas")
    before = Launch.objects.get(pk=demo.pk).version
    assert "unchanged" in run("import_plan", write(tmp_path, exported))
    assert Launch.objects.get(pk=demo.pk).version == before
    assert load_plan(exported) == load_plan(run("export_plan", "whatsapp-saas"))


def test_reimport_keeps_ticks_and_task_status_and_reports_changes(demo, tmp_path, demo_plan_text):
    Criterion.objects.filter(launch=demo, key="redis-upgraded").update(checked=True)
    Task.objects.filter(launch=demo, key="deploy-staging").update(status="done")
    edited = demo_plan_text.replace("title: Upgrade Redis", "title: Upgrade Redis to 6GB")
    out = run("import_plan", write(tmp_path, edited))
    assert "task upgrade-redis changed (title)" in out
    assert Criterion.objects.get(launch=demo, key="redis-upgraded").checked
    assert Task.objects.get(launch=demo, key="deploy-staging").status == "done"
    assert Task.objects.get(launch=demo, key="upgrade-redis").title == "Upgrade Redis to 6GB"
    event = Event.objects.filter(launch=demo).latest("version")
    assert event.kind == "plan.imported"
    assert "task upgrade-redis changed (title)" in event.after["changes"]


def test_a_removed_item_is_deleted_on_reimport(demo, tmp_path, demo_plan_text):
    spec = load_plan(demo_plan_text)
    smaller = spec.__class__(**{**spec.__dict__, "signoffs": spec.signoffs[:2]})
    out = run("import_plan", write(tmp_path, dump_plan(smaller)))
    assert "sign-off role security removed" in out
    assert demo.signoff_roles.count() == 2


BAD_PLANS = {
    "bad YAML": ("launch:\n  slug: x\n   name: X\n", 3, "not valid YAML"),
    "unclosed YAML list": (
        "launch:\n  slug: x\n  name: [unclosed\n",
        4,
        "flow sequence started at line 3",
    ),
    "unknown key": (
        "launch: {slug: x, name: X}\ntasks:\n  - key: a\n    title: A\n    priority: high\n"
        "    estimate: 5m\n    owner: bob\n",
        7,
        "unknown key 'owner'",
    ),
    "threshold that does not parse": (
        "launch: {slug: x, name: X}\nload_tests: [{key: peak, title: Peak}]\ncriteria:\n"
        "  - key: c\n    title: C\n    test: peak\n    metric: http_req_duration\n"
        "    threshold: p95 < 400ms\n",
        8,
        "does not parse",
    ),
    "gate naming a missing criterion": (
        "launch: {slug: x, name: X}\ndecision:\n  - key: g\n    title: G\n"
        "    requires_criteria: [nope]\n",
        3,
        "names criterion 'nope'",
    ),
    "cycle in depends_on": (
        "launch: {slug: x, name: X}\ntasks:\n"
        "  - {key: a, title: A, priority: high, estimate: 5m, depends_on: [c]}\n"
        "  - {key: b, title: B, priority: high, estimate: 5m, depends_on: [a]}\n"
        "  - {key: c, title: C, priority: high, estimate: 5m, depends_on: [b]}\n",
        3,
        "cycle in depends_on: a -> c -> b -> a",
    ),
    "duplicate key": (
        "launch: {slug: x, name: X}\ncriteria:\n  - {key: c, title: C}\n  - {key: c, title: D}\n",
        4,
        "duplicate key 'c'",
    ),
    "duplicate YAML key": ("launch:\n  slug: x\n  name: X\n  name: Y\n", 4, "duplicate key 'name'"),
    "next step with an unknown key": (
        "launch:\n  slug: x\n  name: X\n  next_steps:\n    - {title: Deploy, owner: bob}\n",
        4,
        "a step has title and items, not owner",
    ),
}


@pytest.mark.parametrize("case", BAD_PLANS)
def test_a_malformed_plan_is_refused_with_path_line_and_reason(demo, tmp_path, case):
    text, line, reason = BAD_PLANS[case]
    # The bad plan targets the demo launch, which must come out untouched.
    text = text.replace("slug: x", "slug: whatsapp-saas")
    path = write(tmp_path, text, "bad.yaml")
    before = (Launch.objects.get(pk=demo.pk).version, Task.objects.count(), Event.objects.count())
    with pytest.raises(CommandError) as exc:
        run("import_plan", path)
    assert str(exc.value).startswith(f"{path}:{line}: ")
    assert reason in str(exc.value)
    assert exc.value.returncode != 0
    after = (Launch.objects.get(pk=demo.pk).version, Task.objects.count(), Event.objects.count())
    assert after == before


def test_a_large_plan_imports_and_round_trips(db, tmp_path):
    text = sized_plan(300)
    assert "created" in run("import_plan", write(tmp_path, text))
    exported = run("export_plan", "sized")
    assert "unchanged" in run("import_plan", write(tmp_path, exported, "again.yaml"))


def test_export_of_an_unknown_launch_fails_clearly(db):
    with pytest.raises(CommandError, match="no launch 'nope'"):
        run("export_plan", "nope")


def test_the_plan_shows_its_issue_descriptions_and_next_steps(demo, client):
    """Every part of the seed's plan is on the page (issue 12 §5)."""
    from html import unescape

    from checklists.models import Criterion

    html = unescape(client.get("/launches/whatsapp-saas/").content.decode())
    assert "Database connection pool exhaustion at 500 concurrent users" in html
    steps = Launch.objects.get(pk=demo.pk).next_steps
    assert [s["title"] for s in steps][:2] == [
        "Update the production readiness report",
        "Create the production deployment plan",
    ]
    for step in steps:
        assert step["title"] in html and all(item in html for item in step["items"])
    described = Criterion.objects.filter(launch=demo).exclude(description="")
    assert described.count() >= 5
    for c in described:
        assert " ".join(c.description.split()[:6]) in " ".join(html.split())
