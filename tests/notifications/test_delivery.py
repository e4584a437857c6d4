"""Notifications reach real receivers on 127.0.0.1: coalesced, signed, in order, retried."""

from __future__ import annotations

import io
import time
from datetime import date, timedelta
from pathlib import Path

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from checklists.core.services import criterion_tick, task_move
from checklists.models import Criterion, Launch, Task
from checklists.signals import readiness_settled
from notifications import services
from notifications.models import LaunchNotice, Message, Subscription
from tests.notifications.receivers import Receiver
from tests.support.runs import shifted

pytestmark = pytest.mark.django_db(transaction=True)
MANUAL = ("db-pool-50", "redis-upgraded", "ai-retry-implemented", "alerts-configured")
K6 = Path(__file__).resolve().parents[1] / "fixtures" / "k6"


@pytest.fixture
def clock():
    """Time that moves on by itself and that a test moves on past the coalescing window."""
    with time_machine.travel(timezone.now(), tick=True) as traveller:
        yield traveller


def settle(clock, seconds: float = 6) -> None:
    """Past the coalescing window, then the beat's sweep runs (Celery is eager here)."""
    clock.shift(timedelta(seconds=seconds))
    services.sweep()


def toggle(demo, key: str) -> None:
    c = Criterion.objects.get(launch=demo, key=key)
    criterion_tick(c, checked=not c.checked, reason="re-checking")


def subscribe(demo, kind, target) -> Subscription:
    return services.subscription_create(launch=demo, kind=kind, target=target, created_by="t")


def test_it_tells_each_receiver_once_of_a_burst_signed_slack_shaped_and_by_email(
    demo, clock, settings
):
    # a window longer than the burst takes here (a few seconds; more on a loaded machine)
    settings.NOTIFY_COALESCE_SECONDS = 30
    with Receiver(secret="") as hook, Receiver() as slack:
        webhook = subscribe(demo, "webhook", hook.url)
        hook.secret = webhook.secret  # the secret shown once, kept by the receiver's owner
        subscribe(demo, "slack", slack.url)
        subscribe(demo, "email", "cfo@example.com")
        started = time.monotonic()
        for i in range(50):  # 50 changes; net, only the first two criteria changed
            toggle(demo, MANUAL[0] if i == 49 else MANUAL[1 + i % 3])
        assert time.monotonic() - started < 10
        clock.shift(timedelta(seconds=1))
        services.sweep()  # inside the window: nothing goes out yet
        assert (hook.received, slack.received, mail.outbox) == ([], [], [])
        settle(clock, seconds=30)
        settle(clock, seconds=30)  # and a later look sends nothing again

    assert hook.refused == 0 and len(hook.received) == 1
    payload = hook.received[0]["json"]
    assert payload["launch"] == "whatsapp-saas" and payload["sequence"] == 1
    changed = [(e["key"], e["from"], e["to"]) for e in payload["events"]]
    # db-pool-50 was ticked in the plan, redis-upgraded not; the other two came back
    assert changed == [("db-pool-50", "pass", "pending"), ("redis-upgraded", "pending", "pass")]
    assert [list(r["json"]) for r in slack.received] == [["text"]]
    text = slack.received[0]["json"]["text"]
    assert "Redis upgraded" in text and "pending → pass" in text
    assert len(mail.outbox) == 1
    assert "/notifications/unsubscribe/" in mail.outbox[0].body
    assert mail.outbox[0].subject.startswith("WhatsApp SaaS")


def test_a_receiver_that_fails_gets_every_message_once_in_order_after_it_recovers(demo, clock):
    with Receiver() as hook:
        webhook = subscribe(demo, "webhook", hook.url)
        hook.secret, hook.failing = webhook.secret, True
        for key in MANUAL[:3]:  # three changes of state, each told on its own
            toggle(demo, key)
            settle(clock)
        pending = Message.objects.filter(subscription=webhook, status="pending")
        assert pending.count() == 3
        assert "HTTP 500" in pending.order_by("sequence").first().last_error
        hook.failing = False
        settle(clock, seconds=3600)  # past any backoff
        settle(clock, seconds=3600)

    assert [r["json"]["sequence"] for r in hook.received] == [1, 2, 3]
    firsts = [r["json"]["events"][0]["key"] for r in hook.received]
    assert firsts == list(MANUAL[:3])
    assert hook.refused == 0


def test_a_failing_receiver_neither_slows_a_tick_nor_holds_the_others(demo, clock):
    with Receiver() as bad, Receiver() as good:
        bad.failing, bad.delay = True, 2.0
        subscribe(demo, "slack", bad.url)
        subscribe(demo, "slack", good.url)
        started = time.monotonic()
        toggle(demo, MANUAL[0])
        assert time.monotonic() - started < 1.0
        settle(clock)
    assert len(good.received) == 1
    failed = Message.objects.get(subscription__target=bad.url)
    assert failed.status == "pending" and failed.attempts == 1


def _set_state(demo, watch: dict) -> None:
    """The launch watch's part of the state (its engineer's code sets it; here, by hand) and
    the signal the core sends after such a change."""
    launch = Launch.objects.get(pk=demo.pk)
    before = launch.readiness_state
    after = before | {"watch": watch}
    Launch.objects.filter(pk=demo.pk).update(readiness_state=after)
    readiness_settled.send(
        sender=Launch,
        launch_id=demo.pk,
        version=launch.version,
        kind="t",
        before=before,
        after=after,
    )


def test_a_fired_trigger_is_told_repeated_while_it_lasts_and_cleared(demo, clock, settings):
    settings.NOTIFY_REMIND_MINUTES = 30
    with Receiver() as slack:
        subscribe(demo, "slack", slack.url)
        _set_state(demo, {"phase": "live", "fired": [], "reason": ""})
        settle(clock)
        fired = {"phase": "rollback", "fired": ["alb-5xx"], "reason": "ALB 5XX count 14 > 5"}
        _set_state(demo, fired)
        settle(clock)
        settle(clock, seconds=10 * 60)  # no reminder before its time
        settle(clock, seconds=25 * 60)
        _set_state(demo, {"phase": "live", "fired": [], "reason": ""})
        settle(clock)
        settle(clock, seconds=60 * 60)  # nothing fails: no more reminders
    texts = [r["json"]["text"] for r in slack.received]
    assert len(texts) == 4, texts
    assert texts[0].startswith("WhatsApp SaaS backend go-live: Went live.")
    assert texts[1].startswith("WhatsApp SaaS backend go-live: ROLL BACK: ALB 5XX count 14 > 5.")
    assert "still failing — ROLL BACK" in texts[2]
    assert "All clear" in texts[3] and "Rollback trigger cleared" in texts[3]


def test_real_k6_runs_tell_the_verdict_the_figures_and_then_the_all_clear(demo, clock, tmp_path):
    taken = date(2026, 11, 27)  # when the fixtures were recorded

    def ingest(name, days):
        # dated after the staging deploy the peak criteria must follow, the pass after the fail
        run = shifted(K6 / name, tmp_path, days=(timezone.now().date() - taken).days + days)
        call_command(
            "ingest_results",
            str(run),
            "--launch",
            "whatsapp-saas",
            "--test",
            "peak",
            stdout=io.StringIO(),
        )
        settle(clock)

    with Receiver() as chat:
        subscribe(demo, "slack", chat.url)
        task_move(Task.objects.get(launch=demo, key="deploy-staging"), status="done")
        settle(clock)
        ingest("peak_fail.ndjson", 1)
        ingest("peak_pass.ndjson", 2)
    failed, passed = (r["json"]["text"].splitlines() for r in chat.received)
    assert failed[0].startswith(
        "WhatsApp SaaS backend go-live: verdict PENDING → NO GO. 4 of 16 required criteria fail:"
    )
    assert "Peak load test p95 < 400ms: pending → fail (495 ms)" in failed
    assert "Peak load test error rate < 1%: pending → fail (21.1%)" in failed
    assert passed[0].startswith("WhatsApp SaaS backend go-live: verdict NO GO → PENDING.")
    assert "All clear: nothing is failing any more" in passed
    assert any(line.startswith("Peak load test p95 < 400ms: fail → pass (") for line in passed)


def test_a_subscriber_after_a_quiet_spell_hears_of_changes_from_then_not_of_the_past(demo, clock):
    with Receiver() as first, Receiver() as later:
        services.subscription_remove(subscribe(demo, "slack", first.url))  # told_state: then
        _set_state(demo, {"phase": "live", "fired": [], "reason": ""})  # nobody follows now
        services.change_noted(demo.pk)  # even a flush left due from then
        settle(clock, seconds=14 * 24 * 3600)
        subscribe(demo, "slack", later.url)
        notice = LaunchNotice.objects.get(launch=demo)
        assert notice.told_state == Launch.objects.get(pk=demo.pk).readiness_state
        assert notice.flush_due_at is None
        settle(clock)
        assert later.received == []  # not "Went live", weeks after
        _set_state(demo, {"phase": "rollback", "fired": ["alb-5xx"], "reason": "ALB 5XX"})
        settle(clock)
    assert first.received == []
    assert len(later.received) == 1 and "ROLL BACK" in later.received[0]["json"]["text"]
