"""A new launch from an earlier one's plan (a launch template), without any of its state."""

from __future__ import annotations

from dataclasses import fields, replace

from checklists.core.selectors import launch_with_plan, plan_export
from checklists.core.services import ChangeRefused, ImportResult, plan_import
from checklists.engine.plan import KEY_RE, PlanSpec
from checklists.models import Launch

# dates belong to the earlier launch, not to the one made from its plan
_DATED = ("target_at", "window_start", "window_end")


def plan_without_state(spec: PlanSpec, *, slug: str, name: str) -> PlanSpec:
    """``spec`` as a fresh plan: every task to do, no ticks, no dates of the old launch.

    The plan is what ``export_plan`` writes (one code path), whose initial state is the old
    launch's live state; that state is put back to its defaults here."""
    own = {f.name for f in fields(spec.launch)}
    launch = replace(spec.launch, slug=slug, name=name, **{f: None for f in _DATED if f in own})
    return replace(
        spec,
        launch=launch,
        tasks=tuple(replace(t, status="pending", blocked_reason="") for t in spec.tasks),
        criteria=tuple(replace(c, checked=False) for c in spec.criteria),
    )


def launch_copy(source: Launch, *, slug: str, name: str, actor=None) -> ImportResult:
    """Create launch ``slug`` from ``source``'s plan: its own ``plan.imported`` Event, and no
    runs, ticks, sign-offs, waivers, members or events of ``source``."""
    slug, name = slug.strip(), name.strip()
    if not KEY_RE.match(slug):
        raise ChangeRefused(f"{slug!r} is not a slug (lowercase letters, digits, - and _)")
    if slug == "new":  # /launches/new/ is the page that makes launches
        raise ChangeRefused("'new' cannot be a launch's slug: choose another")
    if not name:
        raise ChangeRefused("give the new launch a name")
    if Launch.objects.filter(slug=slug).exists():
        raise ChangeRefused(f"a launch {slug!r} exists already: choose another slug")
    spec = plan_without_state(plan_export(launch_with_plan(pk=source.pk)), slug=slug, name=name)
    return plan_import(spec, actor=actor, actor_name=f"from the plan of {source.slug}")
