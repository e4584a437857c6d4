"""The Event log: one row per change, in the same transaction, append-only and hash-chained."""

from __future__ import annotations

import pytest
from django.db import transaction

from checklists.core.events import append_event, verify_chain
from checklists.models import Event, Launch


def test_the_import_event_records_who_what_and_the_version(demo):
    event = Event.objects.get(launch=demo)
    assert (event.version, event.kind, event.actor_name) == (1, "plan.imported", "system")
    assert event.after["plan_hash"] == demo.plan_hash


def test_events_cannot_be_changed_or_deleted_through_the_orm(demo):
    event = Event.objects.get(launch=demo)
    event.summary = "rewritten"
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        event.delete()
    with pytest.raises(PermissionError):
        Event.objects.filter(launch=demo).update(summary="x")
    with pytest.raises(PermissionError):
        Event.objects.filter(launch=demo).delete()


@pytest.mark.django_db(transaction=True)
def test_an_event_outside_a_transaction_is_refused(demo):
    with pytest.raises(RuntimeError):
        append_event(demo, kind="x", summary="x")


def test_a_rolled_back_change_leaves_no_event_and_no_version(demo):
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        append_event(demo, kind="task.moved", summary="moved")
        1 / 0  # noqa: B018
    assert Launch.objects.get(pk=demo.pk).version == 1
    assert Event.objects.filter(launch=demo).count() == 1


def test_the_chain_verifies_and_names_the_first_altered_event(demo):
    for i in range(3):
        with transaction.atomic():
            append_event(demo, kind="note", summary=f"note {i}")
    assert verify_chain(Launch.objects.get(pk=demo.pk)) == (True, None, "intact")
    # Tamper below the ORM, as a database superuser could.
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":  # past the append-only trigger, as a superuser
            cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(
            "UPDATE checklists_event SET summary = %s WHERE launch_id = %s AND version = 3",
            ["tampered", demo.pk],
        )
    ok, version, why = verify_chain(Launch.objects.get(pk=demo.pk))
    assert (ok, version) == (False, 3)
    assert "altered" in why
