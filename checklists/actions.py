"""Changes made from the status page: session-authenticated POSTs with CSRF protection. Each
calls one service; a refusal or a conflict comes back as a message on the page (or 4xx JSON
when the page asked with fetch)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_POST

from metrics.selectors import run_by_id
from metrics.services import IngestError, run_invalidate, run_pin_baseline

from .access import launch_for
from .api import accept_upload, json_response
from .services import ChangeRefused, Conflict, criterion_tick, task_move


def _wants_json(request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _done(request, launch, message: str, level=messages.SUCCESS, status=200, extra=None):
    if _wants_json(request):
        data = {"message": message, "version": launch.version} | (extra or {})
        return json_response(
            data if status < 400 else {"error": message} | (extra or {}), status=status
        )
    messages.add_message(request, level, message)
    return redirect(launch.get_absolute_url())


def _refused(request, launch, exc: ChangeRefused):
    if isinstance(exc, Conflict):
        extra = {"current": {k: str(v) if v is not None else None for k, v in exc.current.items()}}
        return _done(
            request,
            launch,
            f"{exc} Nothing was changed; the page shows it now.",
            messages.WARNING,
            409,
            extra,
        )
    return _done(request, launch, str(exc), messages.ERROR, 400)


@login_required
@require_POST
def task_move_view(request, slug, key):
    launch = launch_for(request, slug, "edit")
    task = get_object_or_404(launch.tasks, key=key)
    try:
        task = task_move(
            task,
            status=request.POST.get("status", ""),
            actor=request.user,
            reason=request.POST.get("reason", ""),
            expected_status=request.POST.get("expected_status") or None,
        )
    except ChangeRefused as exc:
        return _refused(request, launch, exc)
    launch.refresh_from_db(fields=["version"])
    return _done(request, launch, f"{task.title}: {task.get_status_display().lower()}.")


@login_required
@require_POST
def criterion_tick_view(request, slug, key):
    launch = launch_for(request, slug, "edit")
    criterion = get_object_or_404(launch.criteria, key=key)
    expected = request.POST.get("expected_checked")
    try:
        c = criterion_tick(
            criterion,
            checked=request.POST.get("checked") == "1",
            actor=request.user,
            reason=request.POST.get("reason", ""),
            evidence_url=request.POST.get("evidence_url", ""),
            expected_checked=None if expected is None else expected == "1",
        )
    except ChangeRefused as exc:
        return _refused(request, launch, exc)
    launch.refresh_from_db(fields=["version"])
    return _done(request, launch, f"{c.title}: {'ticked' if c.checked else 'unticked'}.")


@csrf_exempt  # the upload handler must be in place before CSRF reads the body; checked below
@login_required
@require_POST
def upload_view(request, slug):
    from metrics.uploads import HashingUploadHandler

    request.upload_handlers = [HashingUploadHandler(request)]
    return _protected_upload(request, slug)


@csrf_protect
def _protected_upload(request, slug):
    launch = launch_for(request, slug, "edit")
    return accept_upload(request, launch, via="upload", actor_name=request.user.get_username())


def _run_of(launch, run_id):
    run = run_by_id(run_id)
    if run is None or run.launch_id != launch.pk:
        raise Http404("No such run")
    return run


@login_required
@require_POST
def run_invalidate_view(request, slug, run_id):
    launch = launch_for(request, slug, "edit")
    run = _run_of(launch, run_id)
    try:
        run_invalidate(
            run, reason=request.POST.get("reason", ""), actor_name=request.user.get_username()
        )
    except IngestError as exc:
        return _done(request, launch, str(exc), messages.ERROR, 400)
    launch.refresh_from_db(fields=["version"])
    return _done(request, launch, f"Run #{run.pk} no longer counts: {run.invalid_reason}")


@login_required
@require_POST
def run_pin_view(request, slug, run_id):
    launch = launch_for(request, slug, "edit")
    run = _run_of(launch, run_id)
    try:
        run_pin_baseline(run, actor_name=request.user.get_username())
    except IngestError as exc:
        return _done(request, launch, str(exc), messages.ERROR, 400)
    launch.refresh_from_db(fields=["version"])
    return _done(request, launch, f"Run #{run.pk} is now the {run.test} baseline.")
