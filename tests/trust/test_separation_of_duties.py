"""Issue 10 §4: nobody makes themselves an approver (another admin grants the role, and the
grant is on the activity feed); a waiver asks for the password, as a sign-off does."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from checklists.models import Event, Membership, Task, Waiver
from metrics.services import run_ingest
from tests.checklists.core.test_security import PASSWORD, ROOT, user

MEMBERS = "/launches/whatsapp-saas/members/"


@pytest.mark.parametrize("who", ["launch admin", "staff"])
def test_nobody_grants_themselves_a_role(demo, django_user_model, client, who):
    if who == "staff":
        me = django_user_model.objects.create_user("staffer", password=PASSWORD, is_staff=True)
    else:
        me = user(django_user_model, "boss", demo, "admin")
    client.force_login(me)
    response = client.post(
        MEMBERS, {"username": me.get_username(), "role": "approver", "signoff_role": "cto"}
    )
    assert response.status_code == 400
    assert "yourself" in response.content.decode()
    assert not Membership.objects.filter(user=me, role="approver").exists()
    sign = client.get("/launches/whatsapp-saas/signoff/cto/")
    assert sign.status_code in (403, 404)


def test_another_admin_grants_it_and_the_feed_shows_it(demo, django_user_model, client):
    boss = user(django_user_model, "boss", demo, "admin")
    ann = user(django_user_model, "ann")
    client.force_login(boss)
    response = client.post(MEMBERS, {"username": "ann", "role": "approver", "signoff_role": "cto"})
    assert response.status_code == 302
    assert Membership.objects.filter(user=ann, role="approver", signoff_role="cto").exists()
    event = Event.objects.filter(launch=demo, kind="member.added").latest("version")
    assert "ann" in event.summary and event.actor_name == "boss"
    page = client.get("/launches/whatsapp-saas/").content.decode()
    assert event.summary in page  # on the activity feed


def test_a_waiver_needs_the_password(demo, django_user_model, client):
    cto = user(django_user_model, "cto", demo, "approver", "cto")
    Task.objects.filter(launch=demo).update(status="done", done_at=timezone.now())
    run_ingest(demo, ROOT / "tests" / "fixtures" / "k6" / "peak_fail.ndjson", test="peak")
    Task.objects.filter(launch=demo, key="deploy-staging").update(
        done_at=timezone.now() - timedelta(days=3650)
    )
    client.force_login(cto)
    url = "/launches/whatsapp-saas/criteria/peak-p95/waive/"
    form = {
        "reason": "known slow endpoint",
        "compensating_control": "autoscaling",
        "expires_at": (timezone.now() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"),
    }
    assert 'type="password"' in client.get(url).content.decode()
    assert client.post(url, form).status_code == 403
    assert client.post(url, form | {"password": "wrong"}).status_code == 403
    assert not Waiver.objects.exists()
    assert client.post(url, form | {"password": PASSWORD}).status_code == 302
    assert Waiver.objects.count() == 1
