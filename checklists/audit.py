"""What makes the audit trail hard to rewrite, and the proof ``verify_audit`` gives.

1. Each event's hash is an HMAC with a key the database does not hold (settings.AUDIT_KEYS,
   from the environment): someone who can edit rows cannot recompute the links. Each event
   names its key, so keys rotate without breaking old links; events from before keys existed
   (``key_id`` empty) keep their plain SHA-256, and no plain event may follow a keyed one.
2. The chain's head is kept outside the rows it covers: after every change a signed checkpoint
   (launch, version, hash) is appended to a file in the data dir and to the log. Deleting the
   newest events and lowering the launch's version no longer leaves a chain that looks intact.
3. The rows that decide the verdict are proved from the events: every sign-off, waiver and tick
   must be what an event recorded, and every recorded one must be there.
4. On PostgreSQL, TRUNCATE of these tables is refused by a trigger (migration 0008).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

from launchboard.private import private_dir

log = logging.getLogger("launchboard.audit")


def current_key() -> tuple[str, bytes]:
    key_id = next(iter(settings.AUDIT_KEYS))
    return key_id, settings.AUDIT_KEYS[key_id]


def mac(key_id: str, raw: bytes) -> str | None:
    """HMAC-SHA256 of ``raw`` with the named key; None for a key this deployment lacks."""
    key = settings.AUDIT_KEYS.get(key_id)
    if key is None:
        return None
    return hmac.new(key, raw, hashlib.sha256).hexdigest()


# --- checkpoints --------------------------------------------------------------------------------
def _checkpoint_mac(c: dict) -> str | None:
    raw = f"{c['launch']}|{c['genesis']}|{c['version']}|{c['hash']}|{c['at']}".encode()
    return mac(c["key"], raw)


def write_checkpoint(launch_id: int, genesis: str, version: int, event_hash: str, at: str):
    """Append a signed checkpoint of a launch's newest event (after its commit)."""
    key_id, _ = current_key()
    c = {"launch": launch_id, "genesis": genesis, "version": version, "hash": event_hash}
    c |= {"at": at, "key": key_id}
    c["mac"] = _checkpoint_mac(c)
    line = json.dumps(c, sort_keys=True) + "\n"
    log.info("checkpoint %s", line.strip())
    path: Path = settings.AUDIT_CHECKPOINTS
    private_dir(path.parent)
    # O_APPEND: lines from several processes never overwrite each other
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


def newest_checkpoint(launch_id: int, genesis: str) -> tuple[dict | None, list[str]]:
    """The highest-version checkpoint of this launch (its first event's hash tells it from a
    launch that had the same id in another database), and any forged lines seen."""
    path: Path = settings.AUDIT_CHECKPOINTS
    if not path.exists():
        return None, []
    best, forged = None, []
    with path.open() as lines:
        for number, line in enumerate(lines, 1):
            try:
                c = json.loads(line)
                if c["launch"] != launch_id or c["genesis"] != genesis:
                    continue
                expected = _checkpoint_mac(c)
            except (ValueError, KeyError, TypeError):
                continue  # a torn line from a crash: not a claim about anything
            if expected is None:
                forged.append(f"{path.name}:{number}: signed with unknown key {c['key']!r}")
            elif not hmac.compare_digest(expected, str(c.get("mac", ""))):
                forged.append(f"{path.name}:{number}: its signature does not match (altered)")
            elif best is None or c["version"] > best["version"]:
                best = c
    return best, forged


# --- the proof ----------------------------------------------------------------------------------
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
    from .events import verify_chain

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
    from .models import SignOff

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
    from .models import Waiver

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
