"""What the status page shows, as a template context that does not depend on the viewer: the
same context renders the full page and the sections pushed to every open page."""

from __future__ import annotations

from checklists.board.charts import burndown_figure, gantt_figure
from checklists.board.live import live_of
from checklists.board.presenters import critical_path_minutes, forecast, pace_of
from checklists.board.suite import suite_of
from checklists.core.selectors import recent_events
from checklists.core.snapshot import snapshot_hash, snapshot_of
from checklists.models import Task
from metrics import selectors as evidence

SECTION_TITLES = {
    "checklist": "Checklist",
    "validation": "Validation of the fix (step 5)",
    "suite": "Load-test suite (step 10)",
    "live": "Live metrics",
}


def _forecast_from(tasks, launch):
    """When the timeline's forecast starts: the last time a task was done (else when the
    launch was made), not the moment of rendering. So the timeline section changes only when
    the tasks do, and is not resent with every other change; the page draws the real now-line
    and stretches the chart to it, so a plan that slipped since shows as slipped."""
    return max((t.done_at for t in tasks if t.done_at), default=launch.created_at)


def page_context(board) -> dict:
    r, launch = board.readiness, board.launch
    sections = {}
    for c in r.criteria:
        sections.setdefault(c.spec.section, []).append(c)
    labels = [""] + [g.spec.pass_label for g in r.gates]
    roles = [s.spec.role for s in r.signoffs]
    titles = {c.key: c.spec.title for c in r.criteria}
    waivers = [w for w in launch.waivers.all() if w.revoked_at is None and w.expires_at > board.now]
    unconfigured = evidence.unconfigured_sources(launch.pk)
    since = _forecast_from(r.plan.tasks, launch)
    for w in waivers:
        w.criterion_title = titles.get(w.criterion, w.criterion)
    decision = launch.decisions.order_by("-decided_at").first()
    if decision is not None:  # does the board still say what was decided on?
        decision.matches = snapshot_hash(snapshot_of(launch, r)) == decision.snapshot_hash
    return {
        "decision": decision,
        "board": board,
        "launch": launch,
        "r": r,
        "sections": [(SECTION_TITLES.get(k, k), items) for k, items in sections.items()],
        "flow": [{"edge": label, "gate": g} for label, g in zip(labels, r.gates, strict=False)],
        "flow_goal": labels[-1] or "GO",
        "gantt": gantt_figure(r.plan.tasks, since, launch.target_at),
        "burndown": burndown_figure(
            r.plan.tasks,
            since,
            pace_of(r.plan.tasks)[0],  # unrounded (the JSON's pace is rounded for reading)
            (r.plan.window_start, r.plan.window_end),
            launch.target_at,
        ),
        "forecast": forecast(r.plan, board.now),
        "watch": r.watch,
        "critical_path": critical_path_minutes(r.plan.tasks),
        "events": recent_events(launch),
        "tasks": {t.key: t for t in launch.tasks.all()},
        "task_moves": Task.Status.choices,
        "suite": suite_of(launch, r),
        "live": live_of(launch, r),
        "recent_runs": evidence.recent_runs(launch.pk),
        "waivers": waivers,
        "criteria": {c.key: c for c in launch.criteria.all()},  # evidence links, notes
        # pending for want of a live source not set up here: its role may mark it n/a
        "unconfigured": {c.key for c in launch.criteria.all() if c.source in unconfigured},
        "waive_caps": {
            c.key: " ".join(f"waive:{role}" for role in (c.waivable_by or roles))
            for c in launch.criteria.all()
        },
    }
