"""The launch's notifications page (its admins), Notify me (share-link holders) and the
unsubscribe link, through the test client."""

from __future__ import annotations

import re

import pytest
from django.core import mail

from checklists.core.services import share_link_create
from checklists.models import Membership
from launchboard.redact import redact
from notifications import services
from notifications.models import Message, Subscription
from tests.notifications.receivers import Receiver

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def admin_client(client, demo, django_user_model):
    admin = django_user_model.objects.create_user("ada", password="pw-ada-123456")
    Membership.objects.create(launch=demo, user=admin, role="admin")
    client.force_login(admin)
    return client


def test_the_page_shows_a_failing_receiver_its_error_and_next_try_but_not_its_url(
    admin_client, demo
):
    with Receiver() as hook:
        hook.failing = True
        made = admin_client.post(
            "/launches/whatsapp-saas/notifications/", {"kind": "webhook", "target": hook.url}
        )
        secret = Subscription.objects.get().secret
        assert secret in made.content.decode()  # shown once, when made
        admin_client.post(
            "/launches/whatsapp-saas/notifications/",
            {"action": "test", "subscription": Subscription.objects.get().pk},
        )
        page = admin_client.get("/launches/whatsapp-saas/notifications/").content.decode()

    assert "Failing: HTTP 500: receiver down" in page
    assert re.search(r"1 waiting; attempt 2 at \d\d:\d\d:\d\d", page)
    assert "secret-part" not in page and secret not in page
    assert f"http://127.0.0.1:{hook.server.server_port}/…" in page


def test_only_the_launch_admins_see_it(client, demo, django_user_model):
    engineer = django_user_model.objects.create_user("eve", password="pw-eve-123456")
    Membership.objects.create(launch=demo, user=engineer, role="engineer")
    client.force_login(engineer)
    assert client.get("/launches/whatsapp-saas/notifications/").status_code == 403


def test_a_bad_target_is_refused_with_a_reason(admin_client, settings):
    settings.NOTIFY_ALLOW_PRIVATE_TARGETS = False
    answer = admin_client.post(
        "/launches/whatsapp-saas/notifications/",
        {"kind": "webhook", "target": "http://127.0.0.1:9/hook"},
    )
    assert answer.status_code == 400
    assert "private or local address" in answer.content.decode()
    assert not Subscription.objects.exists()


def test_a_stakeholder_with_a_share_link_subscribes_and_unsubscribes(
    client, demo, django_user_model
):
    owner = django_user_model.objects.create_user("owner", password="pw-owner-123456")
    secret = share_link_create(demo, label="cfo", actor=owner)
    assert client.get("/launches/whatsapp-saas/notify-me/").status_code == 404
    client.get(f"/s/{secret}/")
    answer = client.post("/launches/whatsapp-saas/notify-me/", {"email": "CFO@example.com"})
    assert "cfo@example.com" in answer.content.decode()
    subscription = Subscription.objects.get(kind="email")

    services.test_message(subscription)  # Celery is eager: sent at once
    assert len(mail.outbox) == 1
    link = re.search(r"http://[^\s]+/notifications/unsubscribe/[^\s]+/", mail.outbox[0].body)
    path = link.group(0).split("8000", 1)[1]
    assert redact(f"GET {path} 200") == "GET /notifications/unsubscribe/[redacted]/ 200"
    assert "Stop messages" in client.get(path).content.decode()  # a look changes nothing
    assert Subscription.objects.filter(pk=subscription.pk).exists()
    client.post(path)
    assert not Subscription.objects.filter(pk=subscription.pk).exists()
    assert not Message.objects.exists()
    assert client.post(path).status_code == 404


def test_a_launch_takes_a_bounded_number_of_subscriptions(client, demo, monkeypatch):
    monkeypatch.setattr(services, "MAX_PER_LAUNCH", 2)
    for n in (1, 2):
        services.subscription_create(launch=demo, kind="email", target=f"p{n}@example.com")
    services.subscription_create(launch=demo, kind="email", target="p1@example.com")  # again
    with pytest.raises(services.Refused, match="2 subscriptions, the most"):
        services.subscription_create(launch=demo, kind="email", target="p3@example.com")
    assert Subscription.objects.count() == 2


def test_a_chat_service_is_shown_by_its_name_only_never_its_token(admin_client, demo):
    # a Telegram bot token has a colon where a port would be: urlsplit's .port raised, a 500
    token = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
    made = Subscription.objects.create(
        launch=demo, kind="apprise", target=f"tgram://{token}/-100123", created_by="t"
    )
    page = admin_client.get("/launches/whatsapp-saas/notifications/")
    assert page.status_code == 200
    assert "tgram://…" in page.content.decode()
    assert "123456789" not in page.content.decode() and "AAH" not in page.content.decode()
    assert str(made) == f"Chat service (apprise URL) tgram://… ({demo.pk})"
