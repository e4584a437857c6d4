"""Receivers as people configure them: Slack's own URL, other chat services through apprise, a
webhook that redirects; and what a launch nobody follows costs a change."""

from __future__ import annotations

import pytest

from checklists.models import Launch
from checklists.signals import readiness_settled
from notifications import services, transports
from notifications.models import Message
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
