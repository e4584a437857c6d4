"""The pages: the launch list and a launch's live status page."""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import render

from .charts import gantt_figure
from .presenters import critical_path_minutes
from .models import Launch
from .selectors import board_of, launch_with_plan, recent_events


def launch_list(request):
    launches = Launch.objects.order_by("name")
    return render(request, "launches/list.html", {"launches": launches})


def page_context(board) -> dict:
    r = board.readiness
    sections = {}
    for c in r.criteria:
        sections.setdefault(c.spec.section, []).append(c)
    labels = [""] + [g.spec.pass_label for g in r.gates]
    return {
        "board": board,
        "flow": [{"edge": label, "gate": g} for label, g in zip(labels, r.gates, strict=False)],
        "flow_goal": labels[-1] or "GO",
        "launch": board.launch,
        "r": r,
        "sections": sections,
        "gantt": gantt_figure(r.plan.tasks),
        "critical_path": critical_path_minutes(r.plan.tasks),
        "events": recent_events(board.launch),
        "tasks": {t.key: t for t in board.launch.tasks.all()},
    }


def launch_status(request, slug):
    try:
        launch = launch_with_plan(slug=slug)
    except Launch.DoesNotExist:
        raise Http404("No such launch") from None
    return render(request, "launches/status.html", page_context(board_of(launch)))
