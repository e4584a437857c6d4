"""The new-launch page: a launch from a markdown action plan (pasted or uploaded, drafted as
YAML, reviewed, then imported) or from an earlier launch's plan (a template)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache

from checklists.core.access import can_user_read, permissions
from checklists.core.copies import launch_copy
from checklists.core.services import ChangeRefused, plan_import
from checklists.engine.markdown_plan import NotAPlan, markdown_draft, markdown_text
from checklists.engine.plan import PlanError, load_plan
from checklists.models import Launch, Membership

MAX_UPLOAD = 1_000_000  # a markdown plan is a few kilobytes; a megabyte is not a plan


def may_create(user) -> bool:
    """Site admins make launches; a launch admin may only update the launches they run."""
    return user.is_staff or user.is_superuser


def _may_open(user) -> bool:
    return (
        may_create(user)
        or Membership.objects.filter(user=user, role=Membership.Role.ADMIN).exists()
    )


@never_cache
@login_required
def launch_new(request):
    if not _may_open(request.user):
        raise PermissionDenied("You may not create launches.")
    context = {"sources": _readable(request), "may_create": may_create(request.user)}
    action = request.POST.get("action") if request.method == "POST" else None
    if action == "draft":
        context |= _draft(request)
    elif action == "import":
        done, more = _import(request)
        if done:
            return redirect(done.get_absolute_url())
        context |= more
    elif action == "copy":
        done, more = _copy(request)
        if done:
            return redirect(done.get_absolute_url())
        context |= more
    status = 400 if context.get("error") or context.get("copy_error") else 200
    return render(request, "launches/new.html", context, status=status)


def _readable(request) -> list[Launch]:
    return [
        launch
        for launch in Launch.objects.order_by("name")
        if can_user_read(request.user, launch, request.session)
    ]


def _posted_markdown(request) -> tuple[str, str]:
    """(text, name): the uploaded file if one was given, else the pasted text."""
    upload = request.FILES.get("upload")
    if upload is None:
        return request.POST.get("markdown", ""), "pasted markdown"
    if upload.size > MAX_UPLOAD:
        raise NotAPlan(f"{upload.name}: larger than {MAX_UPLOAD // 1000} kB; not a plan")
    return markdown_text(upload.read(), upload.name), upload.name


def _draft(request) -> dict:
    try:
        text, name = _posted_markdown(request)
        if not text.strip():
            raise NotAPlan("paste a markdown action plan or choose a .md file")
        draft = markdown_draft(text, name)
    except NotAPlan as exc:
        return {"error": str(exc), "markdown": request.POST.get("markdown", "")}
    return {
        "markdown": text,
        "yaml": draft.yaml,
        "skipped": draft.skipped,
        "source_name": name,
        "updates": _updates(request, draft.plan.launch.slug),
    }


def _updates(request, slug: str) -> bool:
    """Whether importing this slug would update a launch (that this person runs)."""
    launch = Launch.objects.filter(slug=slug).first()
    return launch is not None and "admin" in permissions(request.user, launch, request.session)


def _import(request) -> tuple[Launch | None, dict]:
    text = request.POST.get("yaml", "")
    keep = {"yaml": text, "markdown": request.POST.get("markdown", "")}
    try:
        spec = load_plan(text, "the draft")
    except PlanError as exc:
        return None, keep | {"error": str(exc), "error_line": exc.line}
    existing = Launch.objects.filter(slug=spec.launch.slug).first()
    if existing is None and not may_create(request.user):
        raise PermissionDenied("You may not create launches.")
    if existing is not None and "admin" not in permissions(request.user, existing, request.session):
        raise PermissionDenied(f"You may not change the plan of {existing.name}.")
    result = plan_import(spec, actor=request.user, actor_name=request.user.get_username())
    return result.launch, {}


def _copy(request) -> tuple[Launch | None, dict]:
    if not may_create(request.user):
        raise PermissionDenied("You may not create launches.")
    posted = {k: request.POST.get(k, "") for k in ("source", "slug", "name")}
    source = next((s for s in _readable(request) if s.slug == posted["source"]), None)
    try:
        if source is None:
            raise ChangeRefused("choose the earlier launch whose plan to start from")
        result = launch_copy(source, slug=posted["slug"], name=posted["name"], actor=request.user)
    except ChangeRefused as exc:
        return None, {"copy_error": str(exc), "copy": posted}
    return result.launch, {}
