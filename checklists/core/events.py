"""The one way to record a change: ``append_event`` inside the change's own transaction.

Each launch has a linear, hash-chained log. Appending locks the launch row, so concurrent writers
queue up instead of forking the chain, and the launch version always equals the newest event's.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
import logging
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from checklists.core import audit, history
from checklists.models import Event, Launch
from checklists.signals import approvals_to_check, launch_changed, readiness_settled

GENESIS_HASH = "0" * 64
log = logging.getLogger(__name__)


def jsonable(value):
    """Plain JSON data for before/after snapshots (datetimes as ISO text)."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def event_hash(event: Event) -> str | None:
    """The event's link: an HMAC with the key it names (None: a key this deployment lacks),
    or, for events from before keys, the plain SHA-256 they were made with."""
    payload = {
        "launch": event.launch_id,
        "version": event.version,
        "kind": event.kind,
        "subject": event.subject,
        "actor": event.actor_id,
        "actor_name": event.actor_name,
        "summary": event.summary,
        "before": event.before,
        "after": event.after,
        "created_at": event.created_at.isoformat(),
        "prev_hash": event.prev_hash,
    }
    if event.key_id:
        payload["key_id"] = event.key_id
    raw = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    if event.key_id:
        return audit.mac(event.key_id, raw.encode())
    return hashlib.sha256(raw.encode()).hexdigest()


def append_event(
    launch: Launch,
    *,
    kind: str,
    summary: str,
    subject: str = "",
    actor=None,
    actor_name: str = "",
    before=None,
    after=None,
) -> Event:
    """Record one change and bump the launch version; call inside ``transaction.atomic()``.

    The change is announced after commit (``checklists.signals.launch_changed``: the real-time
    layer renders it and tells open pages), never before: a rolled-back change is never
    announced.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("append_event must run inside the transaction of the change")
    locked = Launch.objects.select_for_update().only("id", "version").get(pk=launch.pk)
    prev = locked.events.order_by("-version").values_list("hash", flat=True).first()
    event = Event(
        launch=locked,
        version=locked.version + 1,
        kind=kind,
        subject=subject,
        actor=actor if actor is not None and actor.is_authenticated else None,
        actor_name=actor_name or _actor_name(actor),
        summary=summary[:300],
        before=jsonable(before),
        after=jsonable(after),
        created_at=timezone.now(),
        prev_hash=prev or GENESIS_HASH,
        key_id=audit.current_key()[0],
    )
    event.hash = event_hash(event)
    event.save(force_insert=True)
    Launch.objects.filter(pk=locked.pk).update(version=event.version)
    history.record(locked.pk, event.version, event.created_at, kind)
    launch.version = event.version
    transaction.on_commit(lambda: _after_commit(launch.pk, event.version, kind, event))
    return event


def _checkpoint(event: Event) -> None:
    genesis = (
        event.hash
        if event.version == 1
        else Event.objects.filter(launch_id=event.launch_id, version=1)
        .values_list("hash", flat=True)
        .first()
    )
    try:
        audit.write_checkpoint(
            event.launch_id, genesis or "", event.version, event.hash, event.created_at.isoformat()
        )
    except OSError:  # the change stands; verify_audit will say the checkpoint lags
        log.exception("could not write the audit checkpoint of launch %s", event.launch_id)


def _after_commit(launch_id: int, version: int, kind: str, event: Event | None = None) -> None:
    """Checkpoint the chain's new head outside the database, then announce the change. The
    readiness state the real-time layer rendered for it is remembered, so the sweep reports
    only what changes by itself afterwards (see services.readiness_check), and approvals it
    shows stale are looked at (services.signoffs_lapse, through core/receivers.py)."""
    if event is not None:
        _checkpoint(event)
    answers = launch_changed.send(sender=Launch, launch_id=launch_id, version=version, kind=kind)
    state = next((answer for _, answer in answers if isinstance(answer, dict)), None)
    if state is not None:
        _settle(launch_id, version, kind, event, state)
    statuses = None if state is None else state.get("signoffs", {})
    if statuses is None or "stale" in statuses.values():
        approvals_to_check.send(sender=Launch, launch_id=launch_id, statuses=statuses)


def _settle(launch_id: int, version: int, kind: str, event: Event | None, state: dict) -> None:
    """Remember the state rendered for this change (readiness_check stored its own already, and
    its Event holds both sides) and announce it when it differs from the one stored before. The
    write is skipped when nothing changed, which most changes (a task moved) leave so."""
    if kind == "readiness.changed" and event is not None:
        before, state = event.before, event.after
    else:
        stored = Launch.objects.filter(pk=launch_id).values_list("readiness_state", flat=True)
        before = next(iter(stored), None)
        if before == state:
            return
        Launch.objects.filter(pk=launch_id).update(readiness_state=state)
    # robust: a listener's failure (logged by it) must not undo or hold the change
    for _, failure in readiness_settled.send_robust(
        sender=Launch, launch_id=launch_id, version=version, kind=kind, before=before, after=state
    ):
        if isinstance(failure, Exception):
            log.error("a readiness_settled listener failed on launch %s: %r", launch_id, failure)


def _actor_name(actor) -> str:
    if actor is not None and getattr(actor, "is_authenticated", False):
        return actor.get_username()
    return "system"


def verify_chain(launch: Launch) -> tuple[bool, int | None, str]:
    """Recompute the chain: (intact, first broken version, why)."""
    prev = GENESIS_HASH
    expected_version = 1
    keyed = False
    for event in launch.events.order_by("version").iterator():
        if event.version != expected_version:
            return False, event.version, f"version {expected_version} is missing"
        if event.prev_hash != prev:
            return False, event.version, "its prev_hash does not match the event before it"
        if keyed and not event.key_id:
            return False, event.version, "an unkeyed event after keyed ones (it was rewritten)"
        keyed = keyed or bool(event.key_id)
        link = event_hash(event)
        if link is None:
            return False, event.version, f"it names a key this deployment lacks: {event.key_id}"
        if not hmac.compare_digest(link, event.hash):
            return False, event.version, "its content does not match its hash (it was altered)"
        prev, expected_version = event.hash, expected_version + 1
    if launch.version != expected_version - 1:
        return False, expected_version, f"the launch says version {launch.version}"
    return True, None, "intact"


# --- export ------------------------------------------------------------------------------------
AUDIT_FIELDS = (
    "version",
    "created_at",
    "kind",
    "subject",
    "actor_name",
    "summary",
    "before",
    "after",
    "prev_hash",
    "hash",
)


def audit_rows(launch) -> list[dict]:
    """The launch's event log, oldest first, as plain rows (JSON export)."""
    return [
        {
            f: (e.created_at.isoformat() if f == "created_at" else getattr(e, f))
            for f in AUDIT_FIELDS
        }
        for e in launch.events.order_by("version")
    ]


def _cell(value) -> str:
    """CSV cells that a spreadsheet would run as a formula are quoted as text."""
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def audit_csv(rows: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(AUDIT_FIELDS)
    for row in rows:
        writer.writerow([_cell(row[f]) for f in AUDIT_FIELDS])
    return out.getvalue()
