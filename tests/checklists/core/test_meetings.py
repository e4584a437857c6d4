"""The go/no-go meeting (issue 13): a frozen board, votes by the holders of the sign-off roles,
an outcome the board bounds, and an immutable decision record bound to the frozen snapshot."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from checklists.core import history, meetings
from checklists.core.services import (
    ChangeRefused,
    Conflict,
    Refused,
    criterion_tick,
    waiver_grant,
)
from checklists.models import Criterion, DecisionRecord, Event, Meeting
from tests.support.people import members


@pytest.fixture
def team(demo):
    return members(
        demo,
        ("ada", "admin", ""),
        ("eng", "engineer", ""),
        ("carol", "approver", "cto"),
        ("dee", "approver", "devops"),
    )


def tick(demo, key="redis-upgraded"):
    criterion_tick(Criterion.objects.get(launch=demo, key=key), checked=True)


def test_a_meeting_freezes_the_board_and_its_record_is_bound_to_it(demo, team):
    frozen = demo.version
    meeting = meetings.meeting_open(demo, user=team["ada"])
    assert meeting.frozen_version == frozen
    assert meeting.frozen_hash == history.snapshot_at(demo.pk, frozen)[1]
    with pytest.raises(Conflict):
        meetings.meeting_open(demo, user=team["carol"])  # one open meeting at a time

    tick(demo)  # the live board moves on; the meeting's board does not
    meetings.meeting_attendees(meeting, ["ada", "carol", " ", "dee", "carol"], user=team["ada"])
    meetings.meeting_vote(meeting, "cto", user=team["carol"], vote="no_go", comment="p95 unproven")
    meetings.meeting_vote(meeting, "devops", user=team["dee"], vote="abstain")
    with pytest.raises(ChangeRefused, match="only NO GO"):
        meetings.meeting_close(meeting, user=team["ada"], outcome="GO")
    with pytest.raises(ChangeRefused, match="Say why"):
        meetings.meeting_close(meeting, user=team["ada"], outcome="NO_GO")
    record = meetings.meeting_close(
        meeting, user=team["ada"], outcome="NO_GO", note="Peak test not re-run yet."
    )

    assert (record.version, record.snapshot_hash) == (frozen, meeting.frozen_hash)
    assert record.verdict == "PENDING" and record.outcome == "NO_GO"
    assert record.attendees == ["ada", "carol", "dee"]
    votes = {v["role"]: (v["vote"], v["by"]) for v in record.votes}
    assert votes == {
        "cto": ("no_go", "carol"),
        "devops": ("abstain", "dee"),
        "security": ("none", ""),
    }
    event = Event.objects.get(launch=demo, version=record.event_version)
    assert (
        event.kind == "decision.recorded" and event.after["snapshot_hash"] == record.snapshot_hash
    )
    # The board rebuilt at the frozen version reproduces the hash; the live one has moved.
    verified, live_matches, drift = meetings.record_matches(record)
    assert verified and not live_matches
    assert any("redis-upgraded" in line for line in drift)
    # Immutable, and the meeting is over.
    with pytest.raises(PermissionError):
        record.save()
    with pytest.raises(PermissionError):
        DecisionRecord.objects.filter(pk=record.pk).update(outcome="GO")
    with pytest.raises(Conflict):
        meetings.meeting_vote(meeting, "cto", user=team["carol"], vote="go")
    assert meetings.open_meeting(demo) is None


def test_only_role_holders_vote_and_only_chairs_open_and_close(demo, team):
    with pytest.raises(Refused):
        meetings.meeting_open(demo, user=team["eng"])
    meeting = meetings.meeting_open(demo, user=team["carol"])  # an approver may chair
    with pytest.raises(Refused):
        meetings.meeting_vote(meeting, "cto", user=team["dee"], vote="go")
    with pytest.raises(Refused):
        meetings.meeting_vote(meeting, "cto", user=team["eng"], vote="go")
    with pytest.raises(ChangeRefused, match="no go or abstain"):
        meetings.meeting_vote(meeting, "cto", user=team["carol"], vote="maybe")
    with pytest.raises(ChangeRefused, match="no nope sign-off"):
        meetings.meeting_vote(meeting, "nope", user=team["carol"], vote="go")
    with pytest.raises(Refused):
        meetings.meeting_close(meeting, user=team["eng"], outcome="NO_GO", note="x")
    assert Meeting.objects.get(pk=meeting.pk).closed_at is None


MINI = """
launch: {slug: mini, name: Mini launch, visibility: public}
tasks:
  - {key: deploy, title: Deploy, priority: critical, estimate: 5m, status: done}
criteria:
  - {key: smoke, title: Smoke tests passing}
  - {key: redis, title: Redis upgraded}
signoffs:
  - {role: cto, title: CTO}
  - {role: devops, title: DevOps}
"""


@pytest.fixture
def at_go(db):
    """A small launch brought to GO through the services: a tick, a waiver, two sign-offs."""
    from checklists.core.selectors import board_of, launch_with_plan
    from checklists.core.services import plan_import, signoff_record
    from checklists.core.snapshot import snapshot_hash, snapshot_of
    from checklists.engine.plan import load_plan

    launch = plan_import(load_plan(MINI, "mini.yaml")).launch
    people = members(
        launch, ("ada", "admin", ""), ("carol", "approver", "cto"), ("dee", "approver", "devops")
    )
    tick(launch, "smoke")
    waiver_grant(
        launch,
        "redis",
        user=people["carol"],
        reason="The 6 GB node is ordered; 4 GB holds today's load.",
        compensating_control="Evictions alarm.",
        expires_at=timezone.now() + timedelta(days=1),
        current_status="pending",
        current_value=None,
    )
    for name, role in (("carol", "cto"), ("dee", "devops")):
        fresh = launch_with_plan(pk=launch.pk)
        shown = snapshot_hash(snapshot_of(fresh, board_of(fresh).readiness))
        signoff_record(
            launch, role, user=people[name], decision="approved", comment="", shown_hash=shown
        )
    launch.refresh_from_db()
    assert history.inputs_at(launch.pk, launch.version).readiness().verdict == "GO"
    return launch, people


def test_go_with_waivers_lists_them_and_a_no_go_vote_blocks_go(at_go):
    launch, people = at_go
    meeting = meetings.meeting_open(launch, user=people["ada"])
    meetings.meeting_vote(meeting, "devops", user=people["dee"], vote="no_go", comment="alarms off")
    with pytest.raises(ChangeRefused, match="DevOps voted no go"):
        meetings.meeting_close(meeting, user=people["ada"], outcome="GO_WITH_WAIVERS")
    meetings.meeting_vote(meeting, "devops", user=people["dee"], vote="go")  # the newest counts
    meetings.meeting_vote(meeting, "cto", user=people["carol"], vote="go")
    with pytest.raises(ChangeRefused, match="decide GO with waivers"):
        meetings.meeting_close(meeting, user=people["ada"], outcome="GO")
    record = meetings.meeting_close(meeting, user=people["ada"], outcome="GO_WITH_WAIVERS")
    assert (record.verdict, record.outcome) == ("GO", "GO_WITH_WAIVERS")
    assert [w["criterion"] for w in record.waivers] == ["redis"]
    assert "6 GB node is ordered" in record.waivers[0]["reason"]
    assert meetings.record_matches(record)[:2] == (True, True)  # nothing moved since
