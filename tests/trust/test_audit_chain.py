"""Issue 10 §3: with database access alone the audit trail cannot be rewritten unseen. The
chain is an HMAC with a key the database lacks, its head is checkpointed outside the database,
TRUNCATE is refused, and verify_audit proves sign-offs, waivers and ticks from the events."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.utils import timezone

from checklists.core.events import append_event
from checklists.core.services import criterion_tick, waiver_grant
from checklists.models import Criterion, Event, Launch, SignOff, Task, Waiver
from metrics.services import run_ingest
from tests.checklists.core.test_security import ROOT, sign


@pytest.fixture(autouse=True)
def checkpoints(settings, tmp_path):
    settings.AUDIT_CHECKPOINTS = tmp_path / "audit" / "checkpoints.jsonl"
    return settings.AUDIT_CHECKPOINTS


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Changes with what follows their commit (the checkpoint among it), as in production."""

    def run(work, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return work(*args, **kwargs)

    return run


def notes(launch, committed, n=4):
    for i in range(n):
        with transaction.atomic():
            committed(append_event, launch, kind="note", summary=f"note {i}")


def problems(slug="whatsapp-saas") -> str:
    with pytest.raises(CommandError) as refused:
        call_command("verify_audit", slug)
    assert refused.value.returncode == 1
    return str(refused.value)


def verified(slug="whatsapp-saas") -> str:
    from io import StringIO

    out = StringIO()
    call_command("verify_audit", slug, stdout=out)
    return out.getvalue()


def raw(sql: str, params=()):
    """What a database user can do: plain SQL, with the append-only triggers switched off."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(sql, params)
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = DEFAULT")


def plain_sha256(e: Event) -> str:
    """The project's old hash function: what an attacker recomputes the links with."""
    payload = {
        "launch": e.launch_id, "version": e.version, "kind": e.kind, "subject": e.subject,
        "actor": e.actor_id, "actor_name": e.actor_name, "summary": e.summary,
        "before": e.before, "after": e.after, "created_at": e.created_at.isoformat(),
        "prev_hash": e.prev_hash,
    }  # fmt: skip
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.mark.parametrize("keep_key_id", [True, False])
def test_a_row_edited_and_later_links_recomputed_is_caught(demo, committed, keep_key_id):
    notes(demo, committed)
    assert "chain intact" in verified()
    prev = None
    for e in Event.objects.filter(launch=demo).order_by("version"):
        if e.version >= 3:
            summary = "approved by nobody" if e.version == 3 else e.summary
            e.summary, e.prev_hash = summary, prev
            e.key_id = e.key_id if keep_key_id else ""
            new = plain_sha256(e)
            raw(
                "UPDATE checklists_event SET summary=%s, prev_hash=%s, hash=%s, key_id=%s "
                "WHERE id=%s",
                [summary, prev, new, e.key_id, e.pk],
            )
            e.hash = new
        prev = e.hash
    message = problems()
    assert "event 3" in message or "checkpoint" in message


def test_removing_the_newest_events_is_caught_by_the_checkpoint(demo, committed):
    notes(demo, committed)
    launch = Launch.objects.get(pk=demo.pk)
    raw("DELETE FROM checklists_event WHERE launch_id=%s AND version=%s", [demo.pk, launch.version])
    raw("UPDATE checklists_launch SET version=version-1 WHERE id=%s", [demo.pk])
    assert "not in the database" in problems()


def test_a_forged_checkpoint_line_is_reported(demo, committed, checkpoints):
    notes(demo, committed, 2)
    line = json.loads(checkpoints.read_text().splitlines()[-1])
    line["version"] += 5
    with checkpoints.open("a") as out:
        out.write(json.dumps(line) + "\n")
    assert "signature does not match" in problems()


def test_a_changed_approver_is_caught(demo, signers, client, committed):
    assert committed(sign, client, signers["cto"]).status_code == 302
    assert "match their events" in verified()
    raw("UPDATE checklists_signoff SET by_name='mallory' WHERE launch_id=%s", [demo.pk])
    message = problems()
    assert "sign-off" in message and ("mallory" in message or "cto" in message)


def test_a_removed_signoff_is_caught(demo, signers, client, committed):
    assert committed(sign, client, signers["cto"]).status_code == 302
    raw("DELETE FROM checklists_signoff WHERE launch_id=%s", [demo.pk])
    assert "not in the sign-off table" in problems()


def test_an_altered_or_removed_waiver_is_caught(demo, signers, committed):
    Task.objects.filter(launch=demo).update(status="done", done_at=timezone.now())
    run_ingest(demo, ROOT / "tests" / "fixtures" / "k6" / "peak_fail.ndjson", test="peak")
    committed(
        waiver_grant,
        demo,
        "peak-p95",
        user=signers["cto"],
        reason="known slow endpoint",
        compensating_control="autoscaling",
        expires_at=timezone.now() + timedelta(days=1),
        current_status="fail",
        current_value=None,
    )
    assert "match their events" in verified()
    Waiver.objects.filter(launch=demo).update(expires_at=timezone.now() + timedelta(days=300))
    assert "waiver" in problems()
    Waiver.objects.filter(launch=demo).delete()
    assert "it is missing" in problems()


def test_an_altered_tick_is_caught(demo, signers, committed):
    c = Criterion.objects.get(launch=demo, key="redis-upgraded")
    committed(criterion_tick, c, checked=True, actor=signers["engineer"])
    assert "match their events" in verified()
    Criterion.objects.filter(pk=c.pk).update(checked_by_name="someone-else")
    assert "redis-upgraded" in problems()


def test_keys_rotate_without_breaking_old_links(demo, committed, settings):
    notes(demo, committed, 2)
    old = dict(settings.AUDIT_KEYS)
    settings.AUDIT_KEYS = {"new-key": b"n" * 40, **old}
    notes(demo, committed, 2)
    assert Event.objects.filter(launch=demo, key_id="new-key").count() == 2
    assert "chain intact" in verified()
    settings.AUDIT_KEYS = {"new-key": b"n" * 40}  # the old key dropped: old links unprovable
    assert "lacks" in problems()


@pytest.mark.django_db(transaction=True)  # committed rows: no deferred checks pending
def test_truncate_of_the_evidence_is_refused(demo, signers, client, committed):
    if connection.vendor != "postgresql":
        pytest.skip("TRUNCATE is PostgreSQL's (CI runs this on PostgreSQL)")
    assert committed(sign, client, signers["cto"]).status_code == 302
    for table in ("checklists_signoff", "checklists_event", "checklists_waiver"):
        with (
            pytest.raises(Exception, match="TRUNCATE is refused"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(f"TRUNCATE {table} CASCADE")
    assert SignOff.objects.filter(launch=demo).exists()
