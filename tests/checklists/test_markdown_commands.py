"""import_markdown (a draft on stdout or a file, skipped lines on stderr) and new_launch (a launch
from an earlier one's plan, without its state)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from checklists.core.selectors import plan_export
from checklists.engine.plan import load_plan
from checklists.models import Criterion, Event, Launch, SignOff, Task, Waiver
from metrics import selectors as evidence

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SEED = FIXTURES / "markdown/launch-action-plan.md"


def run(*args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_it_prints_a_draft_and_reports_skipped_lines_as_path_line_reason():
    out, err = run("import_markdown", str(SEED))
    plan = load_plan(out)
    assert len(plan.tasks) == 10
    lines = err.strip().split("\n")
    assert f"{SEED}:372: a total: computed from the tasks, not copied" in lines
    assert all(line.startswith(f"{SEED}:") for line in lines)
    assert len(lines) == 37  # the lines test_markdown_plan.py names


def test_it_writes_the_draft_to_output(tmp_path):
    target = tmp_path / "draft.yaml"
    out, err = run("import_markdown", str(FIXTURES / "markdown/bullet-tasks.md"), "-o", str(target))
    assert out == ""
    assert load_plan(target.read_text()).launch.slug == "search-service-launch"
    assert "bullet-tasks.md:18: prose: not plan data" in err
    assert f"import_plan {target}" in err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read it"),
        (b"", "the file is empty"),
        (b"\x00\x01\x02 binary", "a binary file"),
        (b"caf\xe9", "not UTF-8 text"),
        (b"# Notes\n\nSome prose only.\n", "nothing to draft"),
    ],
)
def test_bad_input_exits_non_zero_with_a_clear_message(tmp_path, content, message):
    path = tmp_path / "plan.md"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(CommandError, match=message) as caught:
        run("import_markdown", str(path))
    assert caught.value.returncode == 2
    assert str(path) in str(caught.value)


def test_the_draft_imports_as_a_launch(db, tmp_path):
    target = tmp_path / "draft.yaml"
    run("import_markdown", str(SEED), "--slug", "from-markdown", "-o", str(target))
    run("import_plan", str(target))
    launch = Launch.objects.get(slug="from-markdown")
    assert launch.tasks.count() == 10
    assert launch.events.filter(kind="plan.imported").count() == 1


# --- new_launch ---------------------------------------------------------------------------------
def _use(demo):
    """The demo as after a day of work: tasks moved, ticks, a run, a sign-off and a waiver."""
    Task.objects.filter(launch=demo).update(status="done")
    Criterion.objects.filter(launch=demo, kind="manual").update(checked=True)
    call_command(
        "ingest_results",
        str(FIXTURES / "k6/peak_pass.ndjson"),
        "--launch",
        demo.slug,
        "--test",
        "peak",
        stdout=io.StringIO(),
    )
    SignOff.objects.create(
        launch=demo,
        role="cto",
        decision="approved",
        by_name="ann",
        at=demo.created_at,
        snapshot_hash="0" * 64,
    )


def test_new_launch_copies_the_plan_and_none_of_the_state(demo):
    _use(demo)
    out, _ = run("new_launch", "--from", "whatsapp-saas", "--slug", "wa-2", "--name", "WA two")
    assert "wa-2: created from the plan of whatsapp-saas" in out
    new = Launch.objects.get(slug="wa-2")
    old_plan, new_plan = plan_export(demo), plan_export(new)
    assert (new.name, new.visibility) == ("WA two", demo.visibility)
    for part in ("load_tests", "sources", "risks", "gates", "signoffs"):
        assert getattr(new_plan, part) == getattr(old_plan, part), part
    assert [(t.key, t.title, t.estimate_minutes, t.depends_on) for t in new_plan.tasks] == [
        (t.key, t.title, t.estimate_minutes, t.depends_on) for t in old_plan.tasks
    ]
    assert {t.status for t in new_plan.tasks} == {"pending"}
    assert not any(c.checked for c in new_plan.criteria)
    assert [c.threshold for c in new_plan.criteria] == [c.threshold for c in old_plan.criteria]
    assert new.target_at is None  # the old launch's date is not the new one's
    assert evidence.recent_runs(new.pk) == [] and evidence.recent_runs(demo.pk) != []
    assert not SignOff.objects.filter(launch=new).exists()
    assert not Waiver.objects.filter(launch=new).exists()
    assert list(Event.objects.filter(launch=new).values_list("kind", flat=True)) == [
        "plan.imported"
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--from", "nope", "--slug", "x", "--name", "X"), "no launch 'nope'"),
        (("--from", "whatsapp-saas", "--slug", "whatsapp-saas", "--name", "X"), "exists already"),
        (("--from", "whatsapp-saas", "--slug", "Not A Slug", "--name", "X"), "is not a slug"),
    ],
)
def test_new_launch_refuses_plainly(demo, args, message):
    with pytest.raises(CommandError, match=message):
        run("new_launch", *args)
    assert Launch.objects.count() == 1


def test_a_slug_the_loader_refuses_exits_with_its_reason_not_a_traceback(tmp_path):
    path = tmp_path / "plan.md"
    path.write_text("# Plan\n\n- Deploy (2h)\n")
    with pytest.raises(CommandError, match="'new' is kept for the new-launch page") as caught:
        run("import_markdown", str(path), "--slug", "new")
    assert caught.value.returncode == 2
