"""Receivers as people configure them: Slack's own URL, other chat services through apprise, a
webhook that redirects; and what a launch nobody follows costs a change."""

from __future__ import annotations

import socket

import pytest
from django.utils import timezone

from checklists.models import Launch
from checklists.signals import readiness_settled
from notifications import services, transports
from notifications.models import Message, Subscription
from tests.notifications.receivers import Receiver


def test_a_slack_url_goes_to_apprise_as_it_is_and_any_other_host_as_slack_shaped_json():
    slack = "https://hooks.slack.com/services/T1/B2/abc"
    assert transports.slack_apprise_url(slack) == slack
    mattermost = transports.slack_apprise_url("https://chat.example.com/hooks/xyz?channel=ops")
    assert mattermost.startswith("jsons://chat.example.com/hooks/xyz?:message=text&")
    assert mattermost.endswith("&-channel=ops")


def test_what_a_page_shows_of_a_webhook_is_its_host():
    shown = transports.shown_target("slack", "https://hooks.slack.com/services/T1/B2/abc")
    assert shown == "https://hooks.slack.com/…"


@pytest.mark.django_db(transaction=True)
def test_a_chat_service_by_its_apprise_url_here_mattermost(demo):
    with Receiver() as chat:
        port = chat.server.server_port
        made = services.subscription_create(
            launch=demo, kind="apprise", target=f"mmost://127.0.0.1:{port}/tok3n"
        )
        services.test_message(made)
    assert chat.received[0]["path"] == "/hooks/tok3n"
    assert "a test message from Launchboard" in chat.received[0]["json"]["text"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("kind", ["webhook", "slack"])
def test_a_receiver_that_redirects_is_a_failure_not_followed(demo, kind):
    with Receiver() as hook:
        hook.status = 302
        made = services.subscription_create(launch=demo, kind=kind, target=hook.url)
        services.test_message(made)
        assert len(hook.received) == 1  # the one post; no second one to wherever it pointed
    message = Message.objects.get(subscription=made)
    assert message.status == "pending" and message.attempts == 1
    if kind == "webhook":
        assert message.last_error.startswith("HTTP 302")


def test_an_unknown_apprise_url_is_refused(db, demo):
    with pytest.raises(services.Refused, match="apprise does not understand"):
        services.subscription_create(launch=demo, kind="apprise", target="nope://x")


def test_a_launch_nobody_follows_costs_one_query_then_none(db, demo, django_assert_num_queries):
    def settled():
        readiness_settled.send(
            sender=Launch, launch_id=demo.pk, version=1, kind="t", before={}, after={}
        )

    with django_assert_num_queries(1):
        settled()
    with django_assert_num_queries(0):
        settled()


def test_what_a_page_shows_of_a_chat_service_is_its_name_never_its_token():
    assert transports.shown_target("apprise", "pover://user@apptoken") == "pover://…"
    assert transports.shown_target("apprise", "tgram://123456789:AAH-tok/42") == "tgram://…"
    assert transports.shown_target("webhook", "http://h.example:x/a") == "http://h.example/…"


@pytest.mark.parametrize(
    "url", ["discord://123456789012345678/tok3n", "pover://user@apptoken", "tgram://12345:AAH/42"]
)
def test_a_token_service_is_taken_its_token_is_no_host_to_resolve(db, demo, settings, url):
    settings.NOTIFY_ALLOW_PRIVATE_TARGETS = False  # as in production
    made = services.subscription_create(launch=demo, kind="apprise", target=url)
    assert made.target == url


@pytest.mark.parametrize(
    "url",
    [
        "json://127.0.0.1:8080/hook",
        "jsons://10.0.0.7/hook",
        "mmost://127.0.0.1:8065/tok3n",
        "ntfy://127.0.0.1/topic",
        "gotify://10.1.2.3/tok3n",
        "mailto://me:pw@example.com?smtp=127.0.0.1",
    ],
)
def test_a_service_posting_to_a_host_the_user_gives_has_that_host_checked(db, demo, settings, url):
    settings.NOTIFY_ALLOW_PRIVATE_TARGETS = False
    with pytest.raises(services.Refused, match="private or local address"):
        services.subscription_create(launch=demo, kind="apprise", target=url)


@pytest.mark.parametrize(
    ("kind", "target"),
    [
        ("webhook", "http://169.254.169.254/latest/meta-data/"),
        ("slack", "http://[fe80::1]/hooks/x"),
        ("webhook", "http://0.0.0.0:8000/hook"),
        ("webhook", "http://224.0.0.1/hook"),
        ("apprise", "json://169.254.169.254/latest/meta-data/"),
    ],
)
def test_link_local_and_special_addresses_are_refused_even_where_private_ones_are_allowed(
    db, demo, settings, kind, target
):
    settings.NOTIFY_ALLOW_PRIVATE_TARGETS = True
    with pytest.raises(services.Refused, match="link-local or special address"):
        services.subscription_create(launch=demo, kind=kind, target=target)


def _webhook_to(demo, url: str):
    # made as it was when its host still resolved to somewhere allowed
    return Subscription.objects.create(launch=demo, kind="webhook", target=url, secret="s")


def _unresolvable(host, *args, **kwargs):
    raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")


@pytest.mark.parametrize("why", ["no DNS", "private now", "a bug"])
def test_a_webhook_that_cannot_be_sent_is_a_recorded_failed_attempt_retried_later(
    db, demo, settings, monkeypatch, why
):
    url = "http://nonexistent.invalid/hook"
    settings.NOTIFY_ALLOW_PRIVATE_TARGETS = why == "a bug"  # production's setting, where it fails
    if why == "no DNS":
        monkeypatch.setattr(transports.socket, "getaddrinfo", _unresolvable)
    elif why == "private now":
        url = "http://127.0.0.1:9/hook"
    else:

        def broken(subscription, message):
            raise KeyError("payload")

        monkeypatch.setattr(services, "send", broken)
    made = _webhook_to(demo, url)
    now = timezone.now()
    services.test_message(made, now)
    assert services.deliver(made.pk, now) == 0
    message = Message.objects.get(subscription=made)
    assert message.status == "pending" and message.attempts == 1
    assert message.next_attempt_at == now + services.backoff(1)
    expected = {
        "no DNS": "nonexistent.invalid cannot be resolved",
        "private now": "private or local address",
        "a bug": "KeyError: 'payload'",
    }[why]
    assert expected in message.last_error
