"""The go/no-go meeting and the decision record it leaves.

Opening a meeting freezes the board at the launch's current version (its snapshot hash, from
the board rebuilt at that version); the live board keeps going. Attendees are noted and each
sign-off role votes go / no-go / abstain; closing records the outcome as an immutable
DecisionRecord with its Event in the audit chain, bound to the frozen snapshot's SHA-256.

The team decides, the board bounds it: GO needs the frozen verdict to be GO and no role voting
no-go; "GO with waivers" is GO while waivers were in force, and lists them; NO GO is always
open to the meeting.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone

from checklists.core import history
from checklists.core.access import permissions
from checklists.core.events import append_event
from checklists.core.services import ChangeRefused, Conflict, Refused, role_holder_title
from checklists.core.snapshot import differences
from checklists.models import DecisionRecord, Launch, Meeting, MeetingVote

MAX_ATTENDEES = 50


def can_chair(user, launch: Launch) -> bool:
    """Admins and approvers open and close meetings."""
    perms = permissions(user, launch)
    return "admin" in perms or any(p.startswith("sign:") for p in perms)


def open_meeting(launch: Launch) -> Meeting | None:
    return launch.meetings.filter(closed_at__isnull=True).first()


def meeting_open(launch: Launch, *, user) -> Meeting:
    """Open a meeting on the board as it is now (Conflict if one is open already)."""
    if not can_chair(user, launch):
        raise Refused("Only an admin or an approver of this launch opens a go/no-go meeting.")
    history.ensure_current(launch.pk)
    try:
        with transaction.atomic():
            locked = Launch.objects.select_for_update().get(pk=launch.pk)
            _, digest = history.snapshot_at(locked.pk, locked.version)
            meeting = Meeting.objects.create(
                launch=locked,
                frozen_version=locked.version,
                frozen_hash=digest,
                opened_by=user,
                opened_by_name=user.get_username(),
                opened_at=timezone.now(),
                attendees=[user.get_username()],
            )
            append_event(
                locked,
                kind="meeting.opened",
                subject=f"meeting:{meeting.pk}",
                summary=f"go/no-go meeting opened on version {locked.version}",
                actor=user,
                after={"meeting": meeting.pk, "version": locked.version, "snapshot_hash": digest},
            )
    except IntegrityError:
        held = open_meeting(launch)
        raise Conflict(
            "A go/no-go meeting is already open on this launch.",
            {"meeting": held.pk if held else None},
        ) from None
    return meeting


def meeting_attendees(meeting: Meeting, names: list[str], *, user) -> Meeting:
    """Set who attends (names as given, blank lines dropped)."""
    if not can_chair(user, meeting.launch):
        raise Refused("Only an admin or an approver of this launch notes the attendees.")
    clean = list(dict.fromkeys(n.strip()[:150] for n in names if n.strip()))
    if len(clean) > MAX_ATTENDEES:
        raise ChangeRefused(f"At most {MAX_ATTENDEES} attendees.")
    with transaction.atomic():
        meeting = Meeting.objects.select_for_update().get(pk=meeting.pk)
        _still_open(meeting)
        meeting.attendees = clean
        meeting.save(update_fields=["attendees"])
    return meeting


def meeting_vote(meeting: Meeting, role: str, *, user, vote: str, comment: str = "") -> MeetingVote:
    """A sign-off role's vote, by the person who holds that role."""
    launch = meeting.launch
    if vote not in MeetingVote.Vote.values:
        raise ChangeRefused("Vote go, no go or abstain.")
    title = role_holder_title(launch, role, user, "votes")
    if vote == MeetingVote.Vote.NO_GO and not comment.strip():
        raise ChangeRefused("Say why you vote no go.")
    with transaction.atomic():
        meeting = Meeting.objects.select_for_update().get(pk=meeting.pk)
        _still_open(meeting)
        cast = MeetingVote.objects.create(
            meeting=meeting,
            role=role,
            user=user,
            by_name=user.get_username(),
            vote=vote,
            comment=comment.strip()[:1000],
            at=timezone.now(),
        )
        append_event(
            launch,
            kind="meeting.voted",
            subject=f"meeting:{meeting.pk}",
            summary=f"{title} voted {cast.get_vote_display().lower()} in the go/no-go meeting"
            + (f": {cast.comment}" if cast.comment else ""),
            actor=user,
            after={"meeting": meeting.pk, "role": role, "vote": vote},
        )
    return cast


def current_votes(meeting: Meeting) -> dict[str, MeetingVote]:
    newest: dict[str, MeetingVote] = {}
    for v in meeting.votes.order_by("role", "-at", "-id"):
        newest.setdefault(v.role, v)
    return newest


def meeting_close(meeting: Meeting, *, user, outcome: str, note: str = "") -> DecisionRecord:
    """Close the meeting with its outcome: the DecisionRecord, bound to the frozen board."""
    launch = meeting.launch
    if not can_chair(user, launch):
        raise Refused("Only an admin or an approver of this launch closes the meeting.")
    if outcome not in Meeting.Outcome.values:
        raise ChangeRefused("Decide GO, NO GO or GO with waivers.")
    with transaction.atomic():
        meeting = Meeting.objects.select_for_update().get(pk=meeting.pk)
        _still_open(meeting)
        inputs = history.inputs_at(launch.pk, meeting.frozen_version)
        readiness = inputs.readiness()
        votes = current_votes(meeting)
        titles = {s.role: s.title for s in inputs.plan.signoffs}
        waived = [c for c in readiness.criteria if c.status == "waived" and c.waiver]
        _check_outcome(outcome, readiness, votes, titles, waived, meeting.frozen_version)
        if outcome == Meeting.Outcome.NO_GO and not note.strip():
            raise ChangeRefused("Say why the launch is NO GO.")
        now = timezone.now()
        meeting.closed_at = now
        meeting.save(update_fields=["closed_at"])
        record_votes = [
            {
                "role": role,
                "title": title,
                "vote": votes[role].vote if role in votes else "none",
                "by": votes[role].by_name if role in votes else "",
                "comment": votes[role].comment if role in votes else "",
                "at": votes[role].at.isoformat() if role in votes else None,
            }
            for role, title in titles.items()
        ]
        record_waivers = [
            {
                "criterion": c.key,
                "title": c.spec.title,
                "by": c.waiver.by,
                "reason": c.waiver.reason,
                "until": c.waiver.until.isoformat() if c.waiver.until else None,
                "not_applicable": c.waiver.not_applicable,
            }
            for c in waived
        ]
        words = Meeting.Outcome(outcome).label
        event = append_event(
            launch,
            kind="decision.recorded",
            subject=f"meeting:{meeting.pk}",
            summary=f"go/no-go decision: {words} on version {meeting.frozen_version}"
            + (f" ({len(record_waivers)} waiver(s))" if record_waivers else "")
            + (f": {note.strip()[:200]}" if note.strip() else ""),
            actor=user,
            after={
                "meeting": meeting.pk,
                "outcome": outcome,
                "version": meeting.frozen_version,
                "snapshot_hash": meeting.frozen_hash,
                "votes": {v["role"]: v["vote"] for v in record_votes},
            },
        )
        return DecisionRecord.objects.create(
            launch=launch,
            meeting=meeting,
            version=meeting.frozen_version,
            snapshot_hash=meeting.frozen_hash,
            verdict=readiness.verdict,
            outcome=outcome,
            attendees=list(meeting.attendees),
            votes=record_votes,
            waivers=record_waivers,
            note=note.strip(),
            decided_by_name=user.get_username(),
            decided_at=now,
            event_version=event.version,
        )


def _check_outcome(outcome, readiness, votes, titles, waived, version) -> None:
    if outcome == Meeting.Outcome.NO_GO:
        return
    if readiness.verdict != "GO":
        blockers = "; ".join(readiness.blockers[:3])
        raise ChangeRefused(
            f"The board said {readiness.verdict.replace('_', ' ')} at version {version}"
            + (f" ({blockers})" if blockers else "")
            + ": only NO GO can be decided on it."
        )
    against = [titles.get(role, role) for role, v in votes.items() if v.vote == "no_go"]
    if against:
        raise ChangeRefused(f"{', '.join(against)} voted no go: GO cannot be decided over it.")
    if outcome == Meeting.Outcome.GO and waived:
        raise ChangeRefused(
            f"{len(waived)} criteria are waived on this board: decide GO with waivers."
        )
    if outcome == Meeting.Outcome.GO_WITH_WAIVERS and not waived:
        raise ChangeRefused("No criterion is waived on this board: decide GO.")


def _still_open(meeting: Meeting) -> None:
    if meeting.closed_at is not None:
        raise Conflict("This meeting is closed: its decision is recorded.", {"meeting": meeting.pk})


def record_matches(record: DecisionRecord) -> tuple[bool, bool, list[str]]:
    """(the board rebuilt at its version reproduces its hash, the live board still matches
    it, what differs now)."""
    frozen, digest = history.snapshot_at(record.launch_id, record.version)
    launch = Launch.objects.only("id", "version").get(pk=record.launch_id)
    now, now_digest = history.snapshot_at(record.launch_id, launch.version)
    return (
        digest == record.snapshot_hash,
        now_digest == record.snapshot_hash,
        differences(frozen, now),
    )
