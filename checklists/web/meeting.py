"""The go/no-go meeting page and the decision records it leaves."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache

from checklists.board import past
from checklists.core import history, meetings
from checklists.core.access import approver_roles, readable_launch, security
from checklists.core.services import ChangeRefused, Conflict, Refused
from checklists.models import Meeting, MeetingVote
from checklists.web.trust import password_refused


def _meeting_context(request, launch, **extra) -> dict:
    meeting = meetings.open_meeting(launch)
    user = request.user
    context = {
        "launch": launch,
        "meeting": meeting,
        "records": list(launch.decisions.order_by("-decided_at")[:20]),
        "can_chair": user.is_authenticated and meetings.can_chair(user, launch),
        "outcomes": Meeting.Outcome.choices,
        "vote_choices": MeetingVote.Vote.choices,
    }
    if meeting is not None:
        board = past.readiness_at(launch, meeting.frozen_version)
        votes = meetings.current_votes(meeting)
        mine = approver_roles(user, launch) if user.is_authenticated else set()
        context |= {
            "board": board,
            # changes since the freeze, the meeting's own (opening, votes) left out
            "moved": launch.events.filter(version__gt=meeting.frozen_version)
            .exclude(kind__startswith="meeting.")
            .count(),
            "changes": past.changes(launch, meeting.frozen_version, launch.version)
            if launch.version > meeting.frozen_version
            else [],
            "votes": [
                {
                    "role": s["role"],
                    "title": s["title"],
                    "vote": votes.get(s["role"]),
                    "mine": s["role"] in mine,
                }
                for s in board["signoffs"]
            ],
            "waived": [c for c in board["criteria"] if c["status"] == "waived"],
        }
    return context | extra


@never_cache
def meeting_view(request, slug):
    """GET: the open meeting (the frozen board, how far the live one moved, votes) or the way
    to open one. POST ``action``: open, attendees, vote, close."""
    launch = readable_launch(request, slug)
    if request.method != "POST":
        return _page(request, launch)
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    action = request.POST.get("action", "")
    meeting = meetings.open_meeting(launch)
    try:
        if action == "open":
            meetings.meeting_open(launch, user=request.user)
            messages.success(request, "Meeting opened: the board is frozen at this version.")
        elif meeting is None:
            raise Conflict("No go/no-go meeting is open on this launch.", {"meeting": None})
        elif action == "attendees":
            names = request.POST.get("attendees", "").splitlines()
            meetings.meeting_attendees(meeting, names, user=request.user)
        elif action in ("vote", "close"):
            if password_refused(request, f"meeting {action} on {slug}"):
                return _page(request, launch, "Your password did not match.", 403)
            if action == "vote":
                meetings.meeting_vote(
                    meeting,
                    request.POST.get("role", ""),
                    user=request.user,
                    vote=request.POST.get("vote", ""),
                    comment=request.POST.get("comment", ""),
                )
            else:
                record = meetings.meeting_close(
                    meeting,
                    user=request.user,
                    outcome=request.POST.get("outcome", ""),
                    note=request.POST.get("note", ""),
                )
                security.info(
                    "go/no-go decision %s by user %s on %s (version %s, snapshot %s)",
                    record.outcome,
                    request.user.pk,
                    slug,
                    record.version,
                    record.snapshot_hash,
                )
                messages.success(request, f"Decision recorded: {record.get_outcome_display()}.")
                return redirect(reverse("decision", args=[launch.slug, record.pk]))
        else:
            raise ChangeRefused("Unknown action.")
    except Refused as exc:
        return _page(request, launch, str(exc), 403)
    except Conflict as exc:
        return _page(request, launch, str(exc), 409)
    except ChangeRefused as exc:
        return _page(request, launch, str(exc), 400)
    return redirect(reverse("meeting", args=[launch.slug]))


def _page(request, launch, error: str = "", status: int = 200):
    context = _meeting_context(request, launch, error=error)
    response = render(request, "launches/meeting.html", context, status=status)
    response["Cache-Control"] = "private, no-store"
    return response


@never_cache
def decision_view(request, slug, record_id):
    """A decision record: what was decided, on which board (rebuilt), and whether the board
    rebuilt at its version still reproduces its hash and the live one still matches it."""
    launch = readable_launch(request, slug)
    record = launch.decisions.filter(pk=record_id).first()
    if record is None:
        raise Http404("No such decision record")
    try:
        verified, live_matches, drift = meetings.record_matches(record)
        if not live_matches and launch.version > record.version:
            # in words, with titles: what the board shows now that it did not then
            changes = past.changes(launch, record.version, launch.version)
            drift = [c["text"] for c in changes] or drift
        board = past.readiness_at(launch, record.version)
    except history.NotRecorded:
        verified, live_matches, board = False, False, None
        drift = ["the board of this version is not recorded"]
    context = {
        "launch": launch,
        "record": record,
        "board": board,
        "verified": verified,
        "live_matches": live_matches,
        "drift": drift,
    }
    response = render(request, "launches/decision.html", context)
    response["Cache-Control"] = "private, no-store"
    return response
