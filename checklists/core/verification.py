"""The proof ``verify_audit`` gives about one launch: the chain is intact (events.py), its head
is the one last checkpointed outside the database (audit.py), and the rows that decide the
verdict (sign-offs, waivers, ticks) are exactly what the events recorded."""

from __future__ import annotations

from dataclasses import dataclass, field

from checklists.core.audit import newest_checkpoint
from checklists.core.events import verify_chain
from checklists.models import SignOff, Waiver


@dataclass
class Findings:
    events: int = 0
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(launch) -> Findings:
    """Everything verify_audit checks about one launch."""
    found = Findings(events=launch.events.count())
    intact, version, why = verify_chain(launch)
    if not intact:
        found.problems.append(f"the chain is broken at event {version}: {why}")
    _check_head(launch, found)
    _check_signoffs(launch, found)
    _check_waivers(launch, found)
    _check_ticks(launch, found)
    return found


def _check_head(launch, found: Findings) -> None:
    first = launch.events.order_by("version").values_list("hash", flat=True).first()
    if first is None:
        return
    checkpoint, forged = newest_checkpoint(launch.pk, first)
    found.problems += [f"checkpoint {line}" for line in forged]
    if checkpoint is None:
        found.notes.append("no checkpoint of this launch yet")
        return
    at = launch.events.filter(version=checkpoint["version"]).values_list("hash", flat=True)
    if not at:
        found.problems.append(
            f"the checkpoint of {checkpoint['at']} names event {checkpoint['version']}, which is "
            f"not in the database: events were removed (the launch says version {launch.version})"
        )
    elif at[0] != checkpoint["hash"]:
        found.problems.append(
            f"event {checkpoint['version']} is not the one checkpointed at {checkpoint['at']}: "
            "it was rewritten"
        )
    elif launch.version > checkpoint["version"]:
        found.notes.append(
            f"{launch.version - checkpoint['version']} event(s) after the newest checkpoint"
        )


def _events(launch, *kinds):
    return list(launch.events.filter(kind__in=kinds).order_by("version"))


def _check_signoffs(launch, found: Findings) -> None:
    recorded = {}
    for e in _events(launch, "signoff.approved", "signoff.rejected", "signoff.lapsed"):
        after = e.after or {}
        if e.kind == "signoff.lapsed":
            key = (after.get("role"), "lapsed", f"lapsed:{after.get('approval')}", "system")
        else:
            key = (after.get("role"), after.get("decision"), after.get("snapshot_hash"))
            key += (e.actor_name,)
        recorded[key] = e.version
    rows = {}
    for s in SignOff.objects.filter(launch=launch):
        rows[(s.role, s.decision, s.snapshot_hash, s.by_name)] = s
    for key, s in rows.items():
        if key not in recorded:
            found.problems.append(
                f"sign-off #{s.pk} ({s.role} {s.decision} by {s.by_name}) is not what any event "
                "recorded: the row was added or altered outside Launchboard"
            )
    for key, version in recorded.items():
        if key not in rows:
            found.problems.append(
                f"event {version} recorded a {key[0]} sign-off ({key[1]} by {key[3]}) that is not "
                "in the sign-off table: the row was removed or altered"
            )


def _check_waivers(launch, found: Findings) -> None:
    granted = {}
    for e in _events(launch, "waiver.granted"):
        after = e.after or {}
        granted[after.get("waiver")] = (e, after)
    revoked = {(e.before or {}).get("waiver"): e for e in _events(launch, "waiver.revoked")}
    for w in Waiver.objects.filter(launch=launch):
        event, after = granted.pop(w.pk, (None, {}))
        if event is None:
            found.problems.append(f"waiver #{w.pk} of {w.criterion} was recorded by no event")
            continue
        same = (
            after.get("criterion") == w.criterion
            and after.get("role") == w.role
            and event.actor_name == w.by_name
            and after.get("expires_at") == w.expires_at.isoformat()
        )
        if not same:
            found.problems.append(
                f"waiver #{w.pk} of {w.criterion} differs from event {event.version} "
                "that granted it: the row was altered"
            )
        if (w.revoked_at is None) != (w.pk not in revoked):
            found.problems.append(
                f"waiver #{w.pk} of {w.criterion}: revoked in the "
                f"{'events' if w.pk in revoked else 'table'} only"
            )
    for key, (event, _) in granted.items():
        if key is not None:
            found.problems.append(f"event {event.version} granted waiver #{key}: it is missing")


def _check_ticks(launch, found: Findings) -> None:
    last = {}
    for e in _events(launch, "criterion.ticked", "criterion.unticked"):
        last[e.subject.removeprefix("criterion:")] = e
    for c in launch.criteria.filter(kind="manual"):
        e = last.get(c.key)
        if e is None:
            if c.checked and c.checked_by_name != "plan":
                found.problems.append(
                    f"{c.key} shows ticked by {c.checked_by_name} but no event recorded a tick"
                )
            continue
        ticked = e.kind == "criterion.ticked"
        if c.checked != ticked or (ticked and c.checked_by_name != e.actor_name):
            shown = f"ticked by {c.checked_by_name}" if c.checked else "unticked"
            found.problems.append(
                f"{c.key} shows {shown}, but its last event ({e.version}) says "
                f"{'ticked by ' + e.actor_name if ticked else 'unticked'}"
            )
