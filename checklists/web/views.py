"""The pages: the launch list, a launch's live status page and a run's page."""

from __future__ import annotations

from django.http import Http404, HttpResponse
from django.shortcuts import render

from checklists.board import past, sections
from checklists.board.charts import latency_figure, load_figure
from checklists.board.suite import chart_limits
from checklists.core import history
from checklists.core.access import can_read, capabilities, readable_launch
from checklists.core.services import guess_test
from checklists.engine.thresholds import parse_threshold
from checklists.models import Launch
from checklists.web.versions import BadQuestion, asked_version
from metrics import selectors as evidence


def launch_list(request):
    return render(request, "launches/list.html", {"launches": launch_summaries(request)})


def launch_summaries(request) -> list[dict]:
    """Each launch this viewer may read, in a line: from its rendering (once per change)."""
    return [
        sections.current(launch.pk, version=launch.version).summary
        for launch in Launch.objects.order_by("name")
        if can_read(request, launch)
    ]


def launch_status(request, slug):
    """The status page for a viewer who is not a plain anonymous reader of a public launch
    (those are answered before Django, by fastreads): the board rendered once per change,
    wrapped with what this viewer may do."""
    launch = Launch.objects.filter(slug=slug).first()
    if launch is None or not can_read(request, launch):
        raise Http404("No such launch")
    shown = sections.current(launch.pk, version=launch.version)
    context = sections.page_context_for(shown, launch) | {
        "caps": capabilities(request.user, launch, request.session)
    }
    response = render(request, "launches/status.html", context)
    response["Cache-Control"] = "private, no-store"  # made for this viewer (forms, CSRF)
    return response


def _limits_of(launch, test: str) -> tuple[float | None, float | None]:
    """The plan's p95 and error-rate limits for this test, drawn on the run's chart."""
    if not test:
        return None, None
    rows = (
        launch.criteria.filter(test=test).exclude(threshold="").values_list("metric", "threshold")
    )
    return chart_limits((metric, parse_threshold(text)) for metric, text in rows)


def _how_test_was_told(launch, run, tests) -> str:
    """How the run's test was decided (its newest Event), or why its file tells none."""
    if not run.test:
        return guess_test(
            [(t.key, t.title) for t in tests], list(run.scenarios or {}), run.filename
        )[1]
    told = (
        launch.events.filter(kind="run.test_set", subject=f"run:{run.pk}")
        .order_by("-version")
        .values_list("after", flat=True)
        .first()
    )
    return (told or {}).get("why", "")


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
    tests = list(launch.load_tests.all())
    context = {
        "launch": launch,
        "run": run,
        "tests": tests,
        "test_title": next((t.title for t in tests if t.key == run.test), ""),
        "test_why": _how_test_was_told(launch, run, tests),
        "others": others,
        "earlier": earlier,
        "compare": evidence.compare_runs(run, earlier),
        "scenarios": sorted((run.scenarios or {}).items()),
        "endpoints": sorted((run.endpoints or {}).items(), key=lambda kv: -kv[1]["requests"]),
        "latency": latency_figure(columns, *_limits_of(launch, run.test))
        if columns.get("t")
        else None,
        "load": load_figure(columns) if columns.get("t") else None,
    }
    return render(request, "launches/run.html", context)


def launch_history(request, slug):
    """The board as it was at a past version (``?version=N`` or ``?at=<time>``), read-only,
    rebuilt from what was recorded then, with what changed since the version it is compared
    with (``?compare=M``, by default the one before)."""
    launch = readable_launch(request, slug)
    context = {"launch": launch, "version": launch.version, "board": None, "changes": []}
    context["events"] = list(
        launch.events.order_by("-version").values(
            "version", "kind", "summary", "created_at", "actor_name"
        )[:500]
    )
    try:
        version = asked_version(request.GET, launch) or launch.version
    except BadQuestion as exc:
        context["error"] = str(exc)
        return _private(render(request, "launches/history.html", context, status=exc.status))
    asked = request.GET.get("compare", "")
    compare = int(asked) if asked.isdigit() and 1 <= int(asked) <= launch.version else version - 1
    context |= {
        "version": version,
        "compare": compare,
        "event": launch.events.filter(version=version)
        .values("version", "summary", "created_at", "actor_name")
        .first(),
    }
    try:
        context["board"] = past.readiness_at(launch, version)
        if 1 <= compare != version:
            context["changes"] = past.changes(launch, min(compare, version), max(compare, version))
    except history.NotRecorded:
        context["error"] = f"Version {version} was not recorded: it is older than time travel here."
    return _private(render(request, "launches/history.html", context))


def _private(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "private, no-store"
    return response
