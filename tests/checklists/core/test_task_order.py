"""A task is not done before the tasks it follows (issue 12 §7): moving "Final validation" to
done while its prerequisites are pending is refused with their names; with a reason it goes
through, and who, why and what was skipped stay in the audit trail and on the page."""

from __future__ import annotations

import pytest
from django.test import Client

from checklists.core.services import ChangeRefused, task_move
from checklists.models import Event, Launch, Task

pytestmark = pytest.mark.django_db
MOVE = "/launches/whatsapp-saas/tasks/final-validation/move/"


def _state(demo):
    return (
        Task.objects.get(launch=demo, key="final-validation").status,
        Event.objects.filter(launch=demo).count(),
        Launch.objects.get(pk=demo.pk).version,
    )


def test_done_before_its_prerequisites_is_refused_with_their_names(demo, engineer):
    before = _state(demo)
    response = engineer.post(
        MOVE,
        {"status": "done", "expected_status": "pending"},
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 400
    message = response.json()["error"]
    prerequisites = Task.objects.get(launch=demo, key="final-validation").depends_on
    titles = Task.objects.filter(launch=demo, key__in=prerequisites).values_list("title", flat=True)
    assert prerequisites and all(title in message for title in titles)
    assert "Give a reason" in message
    assert _state(demo) == before


def test_with_a_reason_it_is_done_and_the_skip_is_recorded(demo, engineer):
    response = engineer.post(
        MOVE,
        {"status": "done", "expected_status": "pending", "reason": "validated in prod-like env"},
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 200
    task = Task.objects.get(launch=demo, key="final-validation")
    assert task.status == "done"
    event = Event.objects.filter(launch=demo, kind="task.moved").latest("version")
    assert event.after["ahead_of"] == task.depends_on
    assert event.after["reason"] == "validated in prod-like env"
    assert "before" in event.summary and "validated in prod-like env" in event.summary
    page = Client().get("/launches/whatsapp-saas/").content.decode()
    assert "Done before" in page


def test_in_order_needs_no_reason(demo):
    for key in ("deploy-staging", "verify-deployment"):
        task_move(Task.objects.get(launch=demo, key=key), status="done")
    assert Task.objects.get(launch=demo, key="verify-deployment").status == "done"
    with pytest.raises(ChangeRefused, match="comes after"):
        task_move(Task.objects.get(launch=demo, key="validate-results"), status="done")
