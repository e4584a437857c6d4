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
        changes += metrics_services.sources_sync(launch, [asdict(s) for s in spec.sources])
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
