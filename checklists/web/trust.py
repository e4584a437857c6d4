"""Pages of people and trust: sign-off, waivers, members, share links, API tokens, audit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.contrib import messages
from django.contrib.auth import authenticate
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from checklists.core import accounts
from checklists.core.access import (
    approver_roles,
    grant_share,
    launch_for,
    readable_launch,
    security,
    share_link_for,
)
from checklists.core.events import audit_csv, audit_rows
from checklists.core.selectors import board_of, launch_with_plan
from checklists.core.services import (
    ChangeRefused,
    Conflict,
    Refused,
    membership_grant,
    membership_remove,
    remember_snapshot,
    share_link_create,
    share_link_revoke,
    signoff_record,
    unconfigured_source,
    waiver_grant,
    waiver_revoke,
)
from checklists.core.snapshot import snapshot_hash, snapshot_of
from checklists.core.tokens import token_create, token_revoke
from checklists.models import ApiToken, Membership, ShareLink, Waiver
from checklists.web.api import json_response


# --- sign-off ----------------------------------------------------------------------------------
def _signoff_context(launch, role, **extra):
    fresh = launch_with_plan(pk=launch.pk)
    board = board_of(fresh)
    snapshot = snapshot_of(fresh, board.readiness)
    digest = snapshot_hash(snapshot)
    remember_snapshot(snapshot, digest)
    title = next(s.spec.title for s in board.readiness.signoffs if s.spec.role == role)
    return {
        "launch": fresh,
        "r": board.readiness,
        "role": role,
        "title": title,
        "snapshot_hash": digest,
        "snapshot": snapshot,
    } | extra


def password_refused(request, what: str) -> bool:
    """Whether the password re-entered on a sign-off or waiver form is wrong (logged; failures
    count towards the sign-in lockout)."""
    password = request.POST.get("password", "")
    if authenticate(request, username=request.user.get_username(), password=password) is None:
        security.warning("%s by user %s refused: password did not match", what, request.user.pk)
        return True
    return False


@never_cache
@login_required
def signoff_view(request, slug, role):
    launch = launch_for(request, slug, f"sign:{role}")
    if request.method != "POST":
        return render(request, "launches/signoff.html", _signoff_context(launch, role))
    if password_refused(request, f"sign-off for {role} on {slug}"):
        context = _signoff_context(launch, role, error="Your password did not match.")
        return render(request, "launches/signoff.html", context, status=403)
    try:
        signoff = signoff_record(
            launch,
            role,
            user=request.user,
            decision=request.POST.get("decision", ""),
            comment=request.POST.get("comment", ""),
            shown_hash=request.POST.get("snapshot_hash", ""),
        )
    except Conflict as exc:
        context = _signoff_context(
            launch, role, error=str(exc), changes=exc.current.get("changes", [])
        )
        return render(request, "launches/signoff.html", context, status=409)
    except Refused as exc:
        raise PermissionDenied(str(exc)) from None
    except ChangeRefused as exc:
        return render(
            request,
            "launches/signoff.html",
            _signoff_context(launch, role, error=str(exc)),
            status=400,
        )
    security.info(
        "sign-off %s by user %s for %s on %s (snapshot %s)",
        signoff.decision,
        request.user.pk,
        role,
        slug,
        signoff.snapshot_hash,
    )
    messages.success(request, f"{signoff.get_decision_display()} as {role}.")
    return redirect(launch.get_absolute_url())


# --- waivers -----------------------------------------------------------------------------------
def _expiry(text: str):
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@never_cache
@login_required
def waiver_view(request, slug, key):
    launch = readable_launch(request, slug)
    board = board_of(launch_with_plan(pk=launch.pk))
    result = next((c for c in board.readiness.criteria if c.key == key), None)
    if result is None:
        raise Http404("No such criterion")
    missing = unconfigured_source(launch, result.spec)
    context = {
        "launch": launch,
        "c": result,
        "default_expiry": (timezone.now() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"),
        # waiting for a source that is not set up here: it may be marked not applicable
        "missing_source": missing if result.status == "pending" else "",
    }
    if request.method != "POST":
        return render(request, "launches/waiver.html", context)
    if password_refused(request, f"waiver of {key} on {slug}"):
        error = "Your password did not match."
        return render(request, "launches/waiver.html", context | {"error": error}, status=403)
    try:
        waiver_grant(
            launch,
            key,
            user=request.user,
            reason=request.POST.get("reason", ""),
            compensating_control=request.POST.get("compensating_control", ""),
            expires_at=_expiry(request.POST.get("expires_at", "")),
            current_status=result.status,
            current_value=result.observed,
            not_applicable=request.POST.get("not_applicable") == "1",
        )
    except Refused as exc:
        raise PermissionDenied(str(exc)) from None
    except ChangeRefused as exc:
        return render(request, "launches/waiver.html", context | {"error": str(exc)}, status=400)
    if request.POST.get("not_applicable") == "1":
        messages.success(request, f"{result.spec.title} is marked not applicable here.")
    else:
        messages.success(request, f"{result.spec.title} is waived.")
    return redirect(launch.get_absolute_url())


@login_required
@require_POST
def waiver_revoke_view(request, slug, waiver_id):
    launch = readable_launch(request, slug)
    waiver = get_object_or_404(Waiver, pk=waiver_id, launch=launch)
    allowed = request.user.pk == waiver.user_id or waiver.role in approver_roles(
        request.user, launch
    )
    if not allowed:
        raise PermissionDenied("Only an approver of the waiver's role may revoke it.")
    waiver_revoke(waiver, user=request.user)
    messages.success(request, "The waiver is revoked.")
    return redirect(launch.get_absolute_url())


# --- launch administration ---------------------------------------------------------------------
@never_cache
@login_required
def members_view(request, slug):
    launch = launch_for(request, slug, "admin")
    error, invitation = "", None
    if request.method == "POST":
        error, invitation = _members_change(request, launch)
        if not error and invitation is None:
            return redirect("launch-members", slug=slug)
    members = Membership.objects.filter(launch=launch).select_related("user")
    roles = launch.signoff_roles.all()
    return render(
        request,
        "launches/members.html",
        {
            "launch": launch,
            "members": members,
            "roles": roles,
            "error": error,
            "invitation": invitation,  # its link is shown on this one answer, never again
            "choices": Membership.Role.choices,
            "email_configured": accounts.email_configured(),
            "posted": request.POST if error else {},
        },
        status=400 if error else 200,
    )


def posted_number(request, name: str, low: int = 1, high: int = 2**63 - 1) -> int | None:
    """A whole number a form posted, or None when it is not one (a 400, never a 500: the
    database refuses ids past a bigint)."""
    text = request.POST.get(name, "").strip()
    if not text.isdigit() or len(text) > 19:
        return None
    number = int(text)
    return number if low <= number <= high else None


def _members_change(request, launch) -> tuple[str, accounts.Invitation | None]:
    """(error, invitation): a member removed, a role given to an account, a new person invited
    (the account made and its one-time set-password link), or a lost invitation's link renewed."""
    if request.POST.get("remove"):
        if posted_number(request, "remove") is None:
            return "No such member.", None
        membership = (
            Membership.objects.filter(launch=launch, pk=request.POST["remove"])
            .select_related("user", "launch")
            .first()
        )
        if membership is not None:
            membership_remove(membership, actor=request.user)
        security.info(
            "membership %s removed from %s by %s",
            request.POST["remove"],
            launch.slug,
            request.user.pk,
        )
        return "", None
    if request.POST.get("relink"):
        # Only for a member who never set a password: a link for anyone else would let a
        # launch admin take over their account.
        member = posted_number(request, "relink")
        membership = (
            Membership.objects.filter(launch=launch, pk=member).select_related("user").first()
            if member is not None
            else None
        )
        if membership is None or membership.user.has_usable_password():
            return "Only a person who has not set a password yet gets a new link.", None
        security.info("new invitation link for %s by %s", membership.user.pk, request.user.pk)
        try:
            return "", accounts.reissue(membership.user, base_url=_base_url(request))
        except accounts.InviteRefused as exc:
            return str(exc), None
    username = request.POST.get("username", "").strip()
    role = request.POST.get("role", "")
    signoff_role = request.POST.get("signoff_role", "") if role == "approver" else ""
    if not username:
        return "Give the person's username.", None
    if role not in Membership.Role.values:
        return "Choose a role.", None
    if role == "approver" and not launch.signoff_roles.filter(key=signoff_role).exists():
        return "An approver needs one of this launch's sign-off roles.", None
    user = User.objects.filter(username=username).first()
    invitation = None
    try:
        with transaction.atomic():
            if user is None:
                invitation = accounts.invite(
                    username,
                    request.POST.get("email", ""),
                    base_url=_base_url(request),
                    by=str(request.user.pk),
                )
                user = invitation.user
            if not membership_grant(launch, user, role, signoff_role, actor=request.user)[1]:
                return "They already have that role.", None
    except accounts.InviteRefused as exc:
        return str(exc), None
    except Refused as exc:
        security.warning("user %s refused a role grant to themselves on %s", user.pk, launch.slug)
        return str(exc), None
    security.info(
        "user %s made %s%s on %s by %s",
        user.pk,
        role,
        f":{signoff_role}" if signoff_role else "",
        launch.slug,
        request.user.pk,
    )
    return "", invitation


def _base_url(request) -> str:
    return request.build_absolute_uri("/")


@never_cache
@login_required
def share_view(request, slug):
    launch = launch_for(request, slug, "admin")
    created = error = None
    if request.method == "POST":
        if request.POST.get("revoke"):
            link_id = posted_number(request, "revoke")
            if link_id is None:
                error = "No such link."
            else:
                share_link_revoke(launch, link_id, actor=request.user)
        else:
            secret = share_link_create(
                launch, label=request.POST.get("label") or "link", actor=request.user
            )
            created = request.build_absolute_uri(f"/s/{secret}/")
    links = ShareLink.objects.filter(launch=launch)
    return render(
        request,
        "launches/share.html",
        {"launch": launch, "links": links, "created": created, "error": error},
        status=400 if error else 200,
    )


def share_open(request, secret):
    """A stakeholder's read-only link: remember it in their session, then show the page."""
    link = share_link_for(secret)
    if link is None:
        raise Http404("This link is not valid (any more).")
    grant_share(request.session, link)
    return redirect(link.launch.get_absolute_url())


@never_cache
@login_required
def tokens_view(request, slug):
    launch = launch_for(request, slug, "admin")
    created = error = None
    if request.method == "POST":
        token_id = posted_number(request, "revoke")
        days = posted_number(request, "days", 1, 365) if request.POST.get("days") else 30
        if request.POST.get("revoke"):
            if token_id is None:
                raise Http404("No such token.")
            token = get_object_or_404(ApiToken, launch=launch, pk=token_id)
            token_revoke(token, actor_name=request.user.get_username())
            security.info("API token %s… of %s revoked by %s", token.prefix, slug, request.user.pk)
        elif days is None:
            error = "Days: a whole number from 1 to 365."
        else:
            scopes = [s for s in request.POST.getlist("scopes") if s in ApiToken.Scope.values]
            token, created = token_create(
                launch,
                name=request.POST.get("name") or "ci",
                scopes=scopes or [ApiToken.Scope.UPLOAD],
                created_by=request.user.get_username(),
                expires_in=timedelta(days=days),
            )
            security.info("API token %s… for %s made by %s", token.prefix, slug, request.user.pk)
    tokens = ApiToken.objects.filter(launch=launch)
    return render(
        request,
        "launches/tokens.html",
        {
            "launch": launch,
            "tokens": tokens,
            "created": created,
            "error": error,
            "scopes": ApiToken.Scope.choices,
        },
        status=400 if error else 200,
    )


# --- audit -------------------------------------------------------------------------------------
def audit_export(request, slug, fmt):
    if fmt not in ("csv", "json"):
        raise Http404("Export as .csv or .json")
    launch = readable_launch(request, slug)
    rows = audit_rows(launch)
    if fmt == "json":
        return json_response({"launch": launch.slug, "events": rows})
    response = HttpResponse(audit_csv(rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{launch.slug}-audit.csv"'
    return response
