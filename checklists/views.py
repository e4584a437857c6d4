"""The pages: the launch list, a launch's live status page and a run's page."""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import render

from metrics import selectors as evidence

from .access import can_read, capabilities, readable_launch
from .charts import latency_figure, load_figure
from .models import Launch
from .pages import page_context
from .selectors import board_of, launch_with_plan


def launch_list(request):
    launches = [launch for launch in Launch.objects.order_by("name") if can_read(request, launch)]
    return render(request, "launches/list.html", {"launches": launches})


def launch_status(request, slug):
    try:
        launch = launch_with_plan(slug=slug)
    except Launch.DoesNotExist:
        raise Http404("No such launch") from None
    if not can_read(request, launch):
        raise Http404("No such launch")
    caps = capabilities(request.user, launch, request.session)
    context = page_context(board_of(launch)) | {"caps": caps}
    return render(request, "launches/status.html", context)


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
