"""The pages: the launch list, a launch's live status page and a run's page."""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import render

from metrics import selectors as evidence

from .access import can_read, readable_launch
from .charts import gantt_figure, latency_figure, load_figure
from .live import live_of
from .models import Launch, Task
from .presenters import critical_path_minutes
from .selectors import board_of, launch_with_plan, recent_events
from .suite import suite_of

SECTION_TITLES = {
    "checklist": "Checklist",
    "validation": "Validation of the fix (step 5)",
    "suite": "Load-test suite (step 10)",
    "live": "Live metrics",
}


def launch_list(request):
    launches = [launch for launch in Launch.objects.order_by("name") if can_read(request, launch)]
    return render(request, "launches/list.html", {"launches": launches})


def page_context(board) -> dict:
    r, launch = board.readiness, board.launch
    sections = {}
    for c in r.criteria:
        sections.setdefault(c.spec.section, []).append(c)
    labels = [""] + [g.spec.pass_label for g in r.gates]
    return {
        "board": board,
        "launch": launch,
        "r": r,
        "sections": [(SECTION_TITLES.get(k, k), items) for k, items in sections.items()],
        "flow": [{"edge": label, "gate": g} for label, g in zip(labels, r.gates, strict=False)],
        "flow_goal": labels[-1] or "GO",
        "gantt": gantt_figure(r.plan.tasks),
        "critical_path": critical_path_minutes(r.plan.tasks),
        "events": recent_events(launch),
        "tasks": {t.key: t for t in launch.tasks.all()},
        "task_moves": Task.Status.choices,
        "suite": suite_of(launch, r),
        "live": live_of(launch, r),
        "recent_runs": evidence.recent_runs(launch.pk),
    }


def launch_status(request, slug):
    try:
        launch = launch_with_plan(slug=slug)
    except Launch.DoesNotExist:
        raise Http404("No such launch") from None
    if not can_read(request, launch):
        raise Http404("No such launch")
    return render(request, "launches/status.html", page_context(board_of(launch)))


def run_page(request, slug, run_id):
    launch = readable_launch(request, slug)
    run = evidence.run_by_id(run_id)
    if run is None or run.launch_id != launch.pk:
        raise Http404("No such run")
    others = [r for r in evidence.test_runs(launch.pk, [run.test]).get(run.test, []) if r != run]
    compare_id = request.GET.get("compare")
    earlier = next((r for r in others if str(r.pk) == compare_id), None) or next(
        (r for r in others if r.complete and r.taken_at <= run.taken_at), None
    )
    columns = evidence.run_series([run.pk]).get(run.pk) or {}
    context = {
        "launch": launch,
        "run": run,
        "others": others,
        "earlier": earlier,
        "compare": evidence.compare_runs(run, earlier),
        "scenarios": sorted((run.scenarios or {}).items()),
        "endpoints": sorted((run.endpoints or {}).items(), key=lambda kv: -kv[1]["requests"]),
        "latency": latency_figure(columns, None, None) if columns.get("t") else None,
        "load": load_figure(columns) if columns.get("t") else None,
    }
    return render(request, "launches/run.html", context)
