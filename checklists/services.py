"""Writes to a launch. Each service validates first, changes rows and appends its Event in one
transaction; open pages hear of it after commit."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

from django.db import transaction
from django.utils import timezone

from metrics import services as metrics_services

from .events import append_event
from .models import Criterion, Gate, Launch, LoadTest, Risk, SignOffRole, Task
from .plan import (
    INITIAL_STATE_FIELDS,
    CriterionSpec,
    GateSpec,
    LoadTestSpec,
    PlanSpec,
    RiskSpec,
    SignOffRoleSpec,
    TaskSpec,
)
from .thresholds import parse_threshold

# (plan section, model, spec class, noun used in change notes)
PLAN_PARTS = (
    ("tasks", Task, TaskSpec, "task"),
    ("load_tests", LoadTest, LoadTestSpec, "load test"),
    ("criteria", Criterion, CriterionSpec, "criterion"),
    ("risks", Risk, RiskSpec, "risk"),
    ("gates", Gate, GateSpec, "gate"),
    ("signoffs", SignOffRole, SignOffRoleSpec, "sign-off role"),
)
LAUNCH_FIELDS = ("name", "summary", "target_at", "visibility")


@dataclass
class ImportResult:
    launch: Launch
    created: bool
    changed: bool
    changes: list[str] = field(default_factory=list)


def _plan_fields(spec_cls) -> list[str]:
    skip = {"key", *INITIAL_STATE_FIELDS.get(spec_cls.__name__, ())}
    return [f.name for f in fields(spec_cls) if f.name not in skip]


def _db_value(value):
    return list(value) if isinstance(value, tuple) else value


def _initial_state(spec, now) -> dict:
    if isinstance(spec, TaskSpec):
        done = spec.status == Task.Status.DONE
        return {
            "status": spec.status,
            "blocked_reason": spec.blocked_reason,
            "done_at": now if done else None,
        }
    if isinstance(spec, CriterionSpec) and spec.checked:
        return {"checked": True, "checked_by_name": "plan", "checked_at": now}
    return {}


def _sync_part(launch: Launch, model, spec_cls, noun: str, specs) -> list[str]:
    """Create, update and delete one kind of plan row; live state of kept rows is untouched."""
    names = _plan_fields(spec_cls)
    existing = {obj.key: obj for obj in model.objects.filter(launch=launch)}
    changes, now = [], timezone.now()
    for order, spec in enumerate(specs):
        values = {name: _db_value(getattr(spec, name)) for name in names} | {"order": order}
        obj = existing.pop(spec.key, None)
        if obj is None:
            model.objects.create(launch=launch, key=spec.key, **values, **_initial_state(spec, now))
            changes.append(f"{noun} {spec.key} added")
            continue
        changed = [name for name, value in values.items() if getattr(obj, name) != value]
        if changed:
            for name in changed:
                setattr(obj, name, values[name])
            obj.save(update_fields=changed)
            changes.append(f"{noun} {spec.key} changed ({', '.join(changed)})")
    for key, obj in existing.items():
        obj.delete()
        changes.append(f"{noun} {key} removed")
    return changes


def source_queries(spec: PlanSpec) -> dict[str, list]:
    """What each live source must answer: [metric, aggregate, window_s] per criterion on it."""
    from metrics.selectors import window_of

    kinds = {s.key: s.kind for s in spec.sources}
    queries: dict[str, list] = {}
    for c in spec.criteria:
        if not c.source or not c.threshold or kinds[c.source] == "cloudwatch-alarms":
            continue
        t = parse_threshold(c.threshold)
        query = [c.metric, t.aggregate, window_of(kinds[c.source], t.window_s)]
        if query not in queries.setdefault(c.source, []):
            queries[c.source].append(query)
    return queries


def plan_import(spec: PlanSpec, *, actor=None, actor_name: str = "") -> ImportResult:
    """Create or update the launch ``spec`` describes. A no-op when the plan is unchanged;
    otherwise one ``plan.imported`` Event lists what changed. Ticks, task status, runs and
    sign-offs are kept."""
    new_hash = spec.content_hash()
    with transaction.atomic():
        launch = Launch.objects.select_for_update().filter(slug=spec.launch.slug).first()
        if launch is not None and launch.plan_hash == new_hash:
            return ImportResult(launch, created=False, changed=False)
        created = launch is None
        if created:
            launch = Launch.objects.create(slug=spec.launch.slug, name=spec.launch.name)
        old_hash = launch.plan_hash
        changes = _sync_launch(launch, spec, new_hash)
        for part, model, spec_cls, noun in PLAN_PARTS:
            changes += _sync_part(launch, model, spec_cls, noun, getattr(spec, part))
        queries = source_queries(spec)
        changes += metrics_services.sources_sync(
            launch, [asdict(s) | {"queries": queries.get(s.key, [])} for s in spec.sources]
        )
        summary = "Launch created from its plan" if created else "Plan re-imported"
        append_event(
            launch,
            kind="plan.imported",
            subject=f"launch:{launch.slug}",
            summary=f"{summary}: {len(changes)} change(s)",
            actor=actor,
            actor_name=actor_name,
            before={"plan_hash": old_hash},
            after={"plan_hash": new_hash, "changes": changes[:200]},
        )
    return ImportResult(launch, created=created, changed=True, changes=changes)


def _sync_launch(launch: Launch, spec: PlanSpec, new_hash: str) -> list[str]:
    changed = [n for n in LAUNCH_FIELDS if getattr(launch, n) != getattr(spec.launch, n)]
    for name in changed:
        setattr(launch, name, getattr(spec.launch, name))
    launch.plan_hash = new_hash
    launch.save(update_fields=[*changed, "plan_hash", "updated_at"])
    return [f"launch {name} changed" for name in changed]


# --- live state --------------------------------------------------------------------------------
class ChangeRefused(ValueError):
    """A change that is not allowed as asked; the message says why in plain words."""


class Conflict(ChangeRefused):
    """Someone changed the item since the page was loaded; ``current`` is its state now."""

    def __init__(self, message: str, current: dict):
        super().__init__(message)
        self.current = current


TASK_MOVES = {
    Task.Status.PENDING: {Task.Status.IN_PROGRESS, Task.Status.DONE, Task.Status.BLOCKED},
    Task.Status.IN_PROGRESS: {Task.Status.PENDING, Task.Status.DONE, Task.Status.BLOCKED},
    Task.Status.BLOCKED: {Task.Status.PENDING, Task.Status.IN_PROGRESS, Task.Status.DONE},
    Task.Status.DONE: {Task.Status.IN_PROGRESS, Task.Status.PENDING},
}


def _task_state(task: Task) -> dict:
    return {"status": task.status, "blocked_reason": task.blocked_reason, "done_at": task.done_at}


def task_move(
    task: Task, *, status: str, actor=None, reason: str = "", expected_status: str | None = None
) -> Task:
    """Move a task. Blocking needs a reason. ``expected_status`` is what the mover saw: if the
    task moved meanwhile the move is refused with what it is now (no lost update)."""
    with transaction.atomic():
        task = Task.objects.select_for_update().get(pk=task.pk)
        if expected_status and task.status != expected_status:
            raise Conflict(
                f"{task.title} was moved to {task.get_status_display().lower()} meanwhile.",
                _task_state(task),
            )
        if status not in TASK_MOVES.get(task.status, ()):
            raise ChangeRefused(f"{task.title} cannot go from {task.status} to {status}.")
        if status == Task.Status.BLOCKED and not reason.strip():
            raise ChangeRefused("Say why the task is blocked.")
        before = _task_state(task)
        now = timezone.now()
        task.status = status
        task.blocked_reason = reason.strip()[:500] if status == Task.Status.BLOCKED else ""
        task.started_at = task.started_at or (now if status == Task.Status.IN_PROGRESS else None)
        task.done_at = now if status == Task.Status.DONE else None
        task.save(update_fields=["status", "blocked_reason", "started_at", "done_at"])
        why = f": {task.blocked_reason}" if task.blocked_reason else ""
        append_event(
            task.launch,
            kind="task.moved",
            subject=f"task:{task.key}",
            summary=f"moved {task.title} to {task.get_status_display().lower()}{why}",
            actor=actor,
            before=before,
            after=_task_state(task),
        )
    return task


def _tick_state(c: Criterion) -> dict:
    return {
        "checked": c.checked,
        "by": c.checked_by_name,
        "at": c.checked_at,
        "evidence_url": c.evidence_url,
        "note": c.note,
    }


def criterion_tick(
    criterion: Criterion,
    *,
    checked: bool,
    actor=None,
    reason: str = "",
    evidence_url: str = "",
    expected_checked: bool | None = None,
) -> Criterion:
    """Tick or untick a manual criterion. Unticking needs a reason; a tick may carry a link to
    its evidence. ``expected_checked`` guards against a concurrent change, like task_move."""
    with transaction.atomic():
        c = Criterion.objects.select_for_update().get(pk=criterion.pk)
        if c.kind != Criterion.Kind.MANUAL:
            raise ChangeRefused(f"{c.title} is judged from evidence; it cannot be ticked.")
        if expected_checked is not None and c.checked != expected_checked:
            state = "ticked" if c.checked else "unticked"
            by = f" by {c.checked_by_name}" if c.checked_by_name else ""
            raise Conflict(f"{c.title} was {state}{by} meanwhile.", _tick_state(c))
        if c.checked == checked:
            return c
        if not checked and not reason.strip():
            raise ChangeRefused("Say why you untick it.")
        before = _tick_state(c)
        name = actor.get_username() if actor is not None else "system"
        c.checked, c.checked_at = checked, timezone.now() if checked else None
        c.checked_by = actor if checked and actor is not None else None
        c.checked_by_name = name if checked else ""
        c.evidence_url = evidence_url.strip() if checked else ""
        c.note = "" if checked else reason.strip()[:500]
        c.save(
            update_fields=[
                "checked",
                "checked_at",
                "checked_by",
                "checked_by_name",
                "evidence_url",
                "note",
            ]
        )
        verb = "ticked" if checked else f"unticked ({c.note})"
        append_event(
            c.launch,
            kind="criterion.ticked" if checked else "criterion.unticked",
            subject=f"criterion:{c.key}",
            summary=f"{verb} {c.title}",
            actor=actor,
            before=before,
            after=_tick_state(c),
        )
    return c


# --- readiness over time -----------------------------------------------------------------------
def readiness_state(readiness) -> dict:
    return {
        "verdict": readiness.verdict,
        "criteria": {c.key: c.status for c in readiness.criteria},
        "signoffs": {s.spec.role: s.status for s in readiness.signoffs},
    }


def _changes(before: dict, after: dict, titles: dict) -> list[str]:
    lines = []
    for key, status in after["criteria"].items():
        was = before.get("criteria", {}).get(key)
        if was and was != status:
            lines.append(f"{titles.get(key, key)}: {was} → {status}")
    for role, status in after["signoffs"].items():
        was = before.get("signoffs", {}).get(role)
        if was and was != status:
            lines.append(f"{role} sign-off: {was} → {status}")
    if before.get("verdict") and before["verdict"] != after["verdict"]:
        lines.insert(0, f"verdict {before['verdict']} → {after['verdict']}")
    return lines


def readiness_check(launch_id: int) -> bool:
    """Compare the launch's readiness with the last look; record an Event for what changed by
    the clock or by live data (stale evidence, a new sample). True when something changed."""
    from .selectors import board_of, launch_with_plan

    launch = launch_with_plan(pk=launch_id)
    readiness = board_of(launch).readiness
    state = readiness_state(readiness)
    if state == launch.readiness_state:
        return False
    titles = {c.key: c.spec.title for c in readiness.criteria}
    lines = _changes(launch.readiness_state, state, titles)
    with transaction.atomic():
        Launch.objects.filter(pk=launch.pk).update(readiness_state=state)
        if lines:
            append_event(
                launch,
                kind="readiness.changed",
                subject=f"launch:{launch.slug}",
                summary="; ".join(lines)[:300],
                actor_name="clock",
                before=launch.readiness_state,
                after=state,
            )
    return bool(lines)
