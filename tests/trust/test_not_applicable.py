"""A criterion judged from a source this installation has not set up (issue 12 §3): its role
may mark it "not applicable here" with a reason shown on the page; it never stands in for
evidence that exists, and a criterion with its own evidence is refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from checklists.engine import readiness as R
from checklists.models import Event, Waiver
from tests.checklists.core.test_security import PASSWORD

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 11, 29, 3, 0, tzinfo=UTC)


def _na(criterion="db"):
    return R.WaiverIn(criterion, by="dee (devops)", reason="no AWS here", not_applicable=True)


def test_not_applicable_stands_in_for_missing_evidence_only():
    c = R.CriterionIn("db", "DB connections < 45", "metric", source="rds", threshold=None)
    plan = R.PlanIn(slug="x", name="X", criteria=(c,), waivers=(_na(),))
    result = R.evaluate(plan, {}, NOW).criterion("db")
    assert result.status == R.WAIVED and result.why.startswith("Not applicable here, says dee")
    measured = R.evaluate(plan, {"db": R.Observation(value=30.0, at=NOW)}, NOW).criterion("db")
    assert measured.status != R.WAIVED  # evidence judges it again
    expired = R.WaiverIn("db", "dee", "no AWS", until=NOW - timedelta(hours=1), not_applicable=True)
    later = R.PlanIn(slug="x", name="X", criteria=(c,), waivers=(expired,))
    assert R.evaluate(later, {}, NOW).criterion("db").status == R.PENDING_STATUS


def _post(client, key, **extra):
    data = {
        "not_applicable": "1",
        "reason": "The demo has no AWS account.",
        "compensating_control": "The stand-in's own pool gauge.",
        "expires_at": (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"),
        "password": PASSWORD,
    } | extra
    return client.post(f"/launches/whatsapp-saas/criteria/{key}/waive/", data)


def test_an_approver_marks_a_criterion_without_its_source_not_applicable(demo, signers, client):
    client.force_login(signers["cto"])
    board = client.get("/launches/whatsapp-saas/").content.decode()
    assert '/criteria/db-connections/waive/">Not applicable here…</a>' in board
    form = client.get("/launches/whatsapp-saas/criteria/db-connections/waive/").content.decode()
    assert "Not applicable here: Database connections" in form and "RDS (CloudWatch)" in form
    assert _post(client, "db-connections").status_code == 302
    data = client.get("/api/launches/whatsapp-saas/").json()
    db = next(c for c in data["criteria"] if c["key"] == "db-connections")
    assert db["status"] == "waived" and db["waiver"]["not_applicable"] is True
    assert "Not applicable here" in db["why"] and "no AWS account" in db["why"]
    assert "The demo has no AWS account." in client.get("/launches/whatsapp-saas/").content.decode()
    [granted] = Event.objects.filter(launch=demo, kind="waiver.granted")
    assert granted.summary.startswith("marked not applicable here Database connections")


def test_a_criterion_with_evidence_of_its_own_is_not_marked_not_applicable(demo, signers, client):
    client.force_login(signers["cto"])
    events = Event.objects.count()
    response = _post(client, "peak-error-rate")  # a load test's criterion, no source
    assert response.status_code == 400
    assert "judged from its own evidence: it applies here" in response.content.decode()
    assert (Waiver.objects.count(), Event.objects.count()) == (0, events)
    client.force_login(signers["engineer"])
    assert _post(client, "db-connections").status_code == 403  # not an approver
