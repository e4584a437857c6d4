"""Changes made from the status page: session-authenticated POSTs with CSRF protection. Each
calls one service; a refusal or a conflict comes back as a message on the page (or 4xx JSON
when the page asked with fetch)."""

from __future__ import annotations

import shutil
import tempfile

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.middleware.csrf import CsrfViewMiddleware
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from checklists.core.access import launch_for
from checklists.core.quotas import form_upload_admit
from checklists.core.rollout import (
    RolloutRefused,
    rollout_advance,
    rollout_end,
    rollout_start,
)
from checklists.core.services import (
    ChangeRefused,
    Conflict,
    criterion_tick,
    run_test_change,
    task_move,
)
from checklists.web.api import accept_upload, json_response
from metrics.selectors import run_by_id
from metrics.services import IngestError, run_invalidate, run_pin_baseline
from metrics.uploads import HashingUploadHandler, SkipFiles


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


@csrf_exempt  # checked below, before anything is written to disk
@login_required
@require_POST
def upload_view(request, slug):
    """A result file from the page's form. Nothing reaches the upload dir before the request is
    allowed: the permission needs no body; the CSRF token is read with every file skipped; then
    the body (already in Django's spool) is parsed again, keeping the one ``file``."""
    launch = launch_for(request, slug, "edit")
    _seekable_body(request)
    request.upload_handlers = [SkipFiles(request)]
    refused = CsrfViewMiddleware(lambda r: None).process_view(request, None, (), {})
    if refused is not None:
        return refused
    if wait := form_upload_admit(request.user):
        response = _done(request, launch, wait.message, messages.ERROR, 429)
        response["Retry-After"] = str(wait.retry_after)
        return response
    _parse_again(request)
    handler = HashingUploadHandler(request)
    request.upload_handlers = [handler]
    response = None
    try:
        response = accept_upload(
            request, launch, via="upload", actor_name=request.user.get_username()
        )
    finally:
        if response is None or response.status_code >= 400:
            handler.forget()  # a refused file is never left behind
    return response


def _seekable_body(request) -> None:
    """Under ASGI the body already is a spooled file; elsewhere (WSGI, the test client) spool
    it the same way, in memory up to FILE_UPLOAD_MAX_MEMORY_SIZE and in the temp dir past it."""
    stream = request._stream
    if getattr(stream, "seekable", lambda: False)():
        return
    spooled = tempfile.SpooledTemporaryFile(  # noqa: SIM115 - the request owns it from here
        max_size=settings.FILE_UPLOAD_MAX_MEMORY_SIZE
    )
    shutil.copyfileobj(stream, spooled)
    spooled.seek(0)
    request._stream = spooled


def _parse_again(request) -> None:
    """Forget the fields-only parse so the next look at request.POST/FILES parses the body
    again from the start (under ASGI the body is a spooled file Django has read whole)."""
    request._stream.seek(0)
    request._read_started = False
    for name in ("_post", "_files"):
        if hasattr(request, name):
            delattr(request, name)


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


@login_required
@require_POST
def run_test_view(request, slug, run_id):
    """An engineer says which load test a run is evidence for (an Event; the page follows)."""
    launch = launch_for(request, slug, "edit")
    run = _run_of(launch, run_id)
    try:
        changed = run_test_change(run, request.POST.get("test", "").strip(), actor=request.user)
    except ChangeRefused as exc:
        return _done(request, launch, str(exc), messages.ERROR, 400)
    run.refresh_from_db(fields=["test"])
    launch.refresh_from_db(fields=["version"])
    what = f"evidence for {run.test}" if run.test else "evidence for no test"
    if not _wants_json(request):
        messages.success(request, f"Run #{run.pk} is {what}." if changed else "Nothing changed.")
        return redirect("run-page", slug=slug, run_id=run.pk)
    return _done(request, launch, f"Run #{run.pk} is {what}.")


# --- the watch after GO ------------------------------------------------------------------------
@login_required
@require_POST
def rollout_start_view(request, slug):
    launch = launch_for(request, slug, "edit")
    try:
        launch = rollout_start(launch, actor=request.user)
    except RolloutRefused as exc:
        return _done(request, launch, str(exc), messages.ERROR, 400)
    return _done(request, launch, f"{launch.name} is live.")


@login_required
@require_POST
def rollout_advance_view(request, slug):
    launch = launch_for(request, slug, "edit")
    try:
        launch = rollout_advance(
            launch, actor=request.user, expected_stage=request.POST.get("expected_stage") or None
        )
    except RolloutRefused as exc:
        return _done(request, launch, str(exc), messages.ERROR, 400)
    stage = launch.rollout["stages"][launch.stage]
    return _done(request, launch, f"Ramped up to {stage['traffic']:g}% of traffic.")


@login_required
@require_POST
def rollout_end_view(request, slug):
    launch = launch_for(request, slug, "edit")
    outcome = request.POST.get("outcome", "")
    try:
        launch = rollout_end(
            launch, outcome=outcome, reason=request.POST.get("reason", ""), actor=request.user
        )
    except RolloutRefused as exc:
        return _done(request, launch, str(exc), messages.ERROR, 400)
    said = "Rolled back." if outcome == "rolled_back" else "The watch goes on."
    return _done(request, launch, said)
