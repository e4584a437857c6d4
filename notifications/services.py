"""Writes and the delivery loop of notifications. Entry points (views, tasks, the receiver) call
these; each takes ``now`` so tests drive the clock instead of sleeping."""

from __future__ import annotations

import logging
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone

from checklists.core.selectors import board_of, launch_with_plan
from checklists.core.services import readiness_state
from checklists.models import Launch
from metrics.selectors import sources_for
from notifications import changes, transports
from notifications.models import LaunchNotice, Message, Subscription

log = logging.getLogger(__name__)
WATCHING_TTL_S = 10  # another process's new subscription is seen within this (the sweep: 10 s)
LEASE = timedelta(seconds=60)
RETRY_BASE_S, RETRY_MAX_S = 10, 3600
UNSUBSCRIBE_SALT = "notifications.unsubscribe"
MAX_PER_LAUNCH = 500


class Refused(ValueError):
    """A subscription that cannot be made; the message says why, for the form."""


# --- subscriptions ------------------------------------------------------------------------------
def _checked_target(kind: str, target: str) -> str:
    try:
        if kind == Subscription.Kind.EMAIL:
            validate_email(target.strip())
            return target.strip().lower()
        if kind == Subscription.Kind.APPRISE:
            return transports.check_apprise(target)
        if kind in (Subscription.Kind.WEBHOOK, Subscription.Kind.SLACK):
            return transports.check_url(target)
    except ValidationError:
        raise Refused("That is not an email address.") from None
    except transports.BadTarget as exc:
        raise Refused(str(exc)) from None
    raise Refused("Choose webhook, Slack-compatible, chat service or email.")


def subscription_create(
    *,
    launch: Launch,
    kind: str,
    target: str,
    user=None,
    created_by: str = "",
    remind_minutes: int | None = None,
) -> Subscription:
    """A new subscription (an email already subscribed to this launch is that one again). A
    webhook gets its signing secret, on ``.secret``: show it once."""
    target = _checked_target(kind, target)
    if kind == Subscription.Kind.EMAIL:
        same = Subscription.objects.filter(launch=launch, kind=kind, target=target).first()
        if same is not None:
            return same
    if Subscription.objects.filter(launch=launch).count() >= MAX_PER_LAUNCH:
        # a share link is not a way to make this server mail any number of addresses
        raise Refused(f"This launch has {MAX_PER_LAUNCH} subscriptions, the most it may have.")
    subscription = Subscription(
        launch=launch,
        kind=kind,
        target=target,
        created_by=created_by[:150],
        user=user if user is not None and user.is_authenticated else None,
        remind_minutes=remind_minutes,
        secret=secrets.token_urlsafe(32) if kind == Subscription.Kind.WEBHOOK else "",
    )
    subscription.full_clean()
    with transaction.atomic():
        alone = not Subscription.objects.filter(launch=launch, active=True).exists()
        fresh = Launch.objects.get(pk=launch.pk)  # its state now, not when the view read it
        subscription.save()
        # The baseline: a new subscriber hears of changes from now on, not of the launch's past.
        # Nobody else following means nothing kept told_state current (the sweep skips launches
        # nobody follows): it is reset to now, and a flush still due from then is dropped.
        if alone:
            LaunchNotice.objects.update_or_create(
                launch=launch,
                defaults={"told_state": current_state(fresh), "flush_due_at": None},
            )
        elif not LaunchNotice.objects.filter(launch=launch).exists():
            LaunchNotice.objects.create(launch=launch, told_state=current_state(launch))
    cache.delete(_watching_key(launch.pk))
    return subscription


def current_state(launch: Launch) -> dict:
    """The launch's state as stored after its last change, or judged now if it has none yet."""
    if launch.readiness_state:
        return launch.readiness_state
    return readiness_state(board_of(launch_with_plan(pk=launch.pk)).readiness)


def subscription_remove(subscription: Subscription) -> None:
    launch_id = subscription.launch_id
    subscription.delete()
    cache.delete(_watching_key(launch_id))


def unsubscribe_token(subscription: Subscription) -> str:
    return signing.dumps(subscription.pk, salt=UNSUBSCRIBE_SALT)


def subscription_by_token(token: str) -> Subscription | None:
    try:
        pk = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except signing.BadSignature:
        return None
    return Subscription.objects.filter(pk=pk).select_related("launch").first()


# --- a change: coalesce, then one message per subscription ----------------------------------------
def _watching_key(launch_id: int) -> str:
    return f"lb:notify:watching:{launch_id}"


def watching(launch_id: int) -> bool:
    """Whether anyone is subscribed to the launch; cached, so a launch nobody follows costs a
    cache read per change."""
    key = _watching_key(launch_id)
    known = cache.get(key)
    if known is None:
        known = Subscription.objects.filter(launch_id=launch_id, active=True).exists()
        cache.set(key, known, WATCHING_TTL_S)
    return known


def change_noted(launch_id: int, now: datetime | None = None) -> bool:
    """A change of state happened: a flush is due in NOTIFY_COALESCE_SECONDS unless one is due
    already (so a burst makes one message). True when this call set the flush."""
    now = now or timezone.now()
    due = now + timedelta(seconds=settings.NOTIFY_COALESCE_SECONDS)
    return bool(
        LaunchNotice.objects.filter(launch_id=launch_id, flush_due_at__isnull=True).update(
            flush_due_at=due
        )
    )


def names_of(launch: Launch) -> changes.Names:
    """What messages name, read before any lock is taken (it judges the board once, for the
    observed figures: "pass → fail (485 ms)")."""
    sources = {s.key: s.title for s in sources_for(launch.pk)}
    results = board_of(launch_with_plan(pk=launch.pk)).readiness.criteria
    return changes.Names(
        launch=launch.name,
        url=settings.PUBLIC_URL + launch.get_absolute_url(),
        titles={c.key: c.spec.title for c in results},
        sources={
            c.key: sources.get(c.spec.source, c.spec.source) for c in results if c.spec.source
        },
        observed={c.key: c.observed_text for c in results if c.observed_text},
        required=frozenset(c.key for c in results if c.spec.required),
    )


def _due(launch_id: int, now) -> bool:
    due = LaunchNotice.objects.filter(launch_id=launch_id).values_list("flush_due_at", flat=True)
    return any(d is not None and d <= now for d in due)


def flush(launch_id: int, now: datetime | None = None) -> list[int]:
    """If the launch's coalesced flush is due: the net change since the last message, queued
    for every active subscription. Answers the subscriptions that got a message."""
    now = now or timezone.now()
    if not _due(launch_id, now):
        return []
    launch = Launch.objects.get(pk=launch_id)
    names = names_of(launch)  # outside the transaction: SQLite's write lock is held in it
    with transaction.atomic():
        notice = LaunchNotice.objects.select_for_update().filter(launch_id=launch_id).first()
        if notice is None or notice.flush_due_at is None or notice.flush_due_at > now:
            return []  # another flush took it
        launch = Launch.objects.get(pk=launch_id)
        before, after = notice.told_state, launch.readiness_state or {}
        notice.told_state, notice.flush_due_at = after, None
        notice.save(update_fields=["told_state", "flush_due_at"])
        told = changes.notice(before, after, names)
        if told is None:
            return []
        return [_queue(s, launch, told, now) for s in _active(launch_id)]


def _active(launch_id: int):
    return Subscription.objects.select_for_update().filter(launch_id=launch_id, active=True)


def _queue(subscription: Subscription, launch: Launch, told: changes.Notice, now) -> int:
    """One message at the end of the subscription's line (called under its row lock)."""
    sequence = subscription.next_sequence
    Message.objects.create(
        subscription=subscription,
        sequence=sequence,
        kind=told.kind,
        title=told.title,
        text=told.text,
        created_at=now,
        next_attempt_at=now,
        payload={
            "launch": launch.slug,
            "name": launch.name,
            "kind": told.kind,
            "title": told.title,
            "text": told.text,
            "events": list(told.events),
            "state": launch.readiness_state,
            "sequence": sequence,
            "created_at": now.isoformat(),
        },
    )
    Subscription.objects.filter(pk=subscription.pk).update(
        next_sequence=F("next_sequence") + 1, last_message_at=now
    )
    transaction.on_commit(lambda: _deliver_soon(subscription.pk))
    return subscription.pk


def _deliver_soon(subscription_id: int, countdown: float = 0) -> None:
    # The task module imports this one: imported here to break the cycle.
    from notifications.tasks import deliver

    try:
        deliver.apply_async((subscription_id,), countdown=countdown, retry=False)
    except Exception:  # the broker is away: the sweep delivers what is due
        log.warning("could not queue delivery to subscription %s", subscription_id, exc_info=True)


def reminders(launch_id: int, now: datetime | None = None) -> list[int]:
    """The failing state again to each subscription that heard nothing for its interval."""
    now = now or timezone.now()
    told_state = (
        LaunchNotice.objects.filter(launch_id=launch_id)
        .values_list("told_state", flat=True)
        .first()
    )
    subscriptions = Subscription.objects.filter(launch_id=launch_id, active=True)
    if not changes.failing(told_state) or not any(_reminder_due(s, now) for s in subscriptions):
        return []
    launch = Launch.objects.get(pk=launch_id)
    told = changes.reminder(told_state, names_of(launch))
    with transaction.atomic():
        due = [s for s in _active(launch_id) if _reminder_due(s, now)]
        return [_queue(s, launch, told, now) for s in due]


def _reminder_due(subscription: Subscription, now) -> bool:
    minutes = subscription.remind_minutes
    if minutes is None:
        minutes = settings.NOTIFY_REMIND_MINUTES
    last = subscription.last_message_at or subscription.created_at
    return minutes > 0 and now - last >= timedelta(minutes=minutes)


def test_message(subscription: Subscription, now: datetime | None = None) -> None:
    now = now or timezone.now()
    launch = subscription.launch
    title = f"{launch.name}: a test message from Launchboard."
    told = changes.Notice(
        "test", title, (f"Status: {settings.PUBLIC_URL}{launch.get_absolute_url()}",), ()
    )
    with transaction.atomic():
        locked = Subscription.objects.select_for_update().get(pk=subscription.pk)
        _queue(locked, launch, told, now)


# --- delivery -----------------------------------------------------------------------------------
def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(RETRY_BASE_S * 2 ** max(attempts - 1, 0), RETRY_MAX_S))


def deliver(subscription_id: int, now: datetime | None = None) -> int:
    """Send the subscription's pending messages, oldest first, until one fails (it and those
    after it wait for its retry: they arrive in order, each once). Answers how many were sent.
    One deliverer per subscription at a time: it holds a lease, renewed before each send."""
    start = now or timezone.now()
    claimed = Subscription.objects.filter(
        Q(lease_until__isnull=True) | Q(lease_until__lt=start), pk=subscription_id, active=True
    ).update(lease_until=start + LEASE)
    if not claimed:
        return 0  # removed, or another worker is delivering its line
    sent = 0
    try:
        subscription = Subscription.objects.select_related("launch").get(pk=subscription_id)
        while (message := _next(subscription_id)) is not None:
            moment = now or timezone.now()  # messages queued meanwhile are sent by this run
            if message.next_attempt_at > moment:
                break
            Subscription.objects.filter(pk=subscription_id).update(lease_until=moment + LEASE)
            if not _attempt(subscription, message, moment):
                break
            sent += 1
    finally:
        Subscription.objects.filter(pk=subscription_id).update(lease_until=None)
    return sent


def _next(subscription_id: int) -> Message | None:
    return (
        Message.objects.filter(subscription_id=subscription_id, status=Message.Status.PENDING)
        .order_by("sequence")
        .first()
    )


def _attempt(subscription: Subscription, message: Message, now) -> bool:
    try:
        send(subscription, message)
    except transports.DeliveryError as exc:
        _failed(subscription, message, now, str(exc))
        return False
    except Exception as exc:
        # A bug or a case no transport foresaw: still a failed attempt, recorded and backed off.
        # Uncaught, it recorded nothing and the sweep re-queued the message every 10 s forever.
        log.exception("notification %s of subscription %s", message.sequence, subscription.pk)
        text = f"{type(exc).__name__}: {exc}".replace(subscription.target, "…")  # its secret
        _failed(subscription, message, now, text)
        return False
    message.status, message.sent_at = Message.Status.SENT, timezone.now()
    message.attempts += 1
    message.save(update_fields=["status", "sent_at", "attempts"])
    return True


def _failed(subscription: Subscription, message: Message, now, error: str) -> None:
    message.attempts += 1
    message.last_error = error[:500]
    message.next_attempt_at = now + backoff(message.attempts)
    message.save(update_fields=["attempts", "last_error", "next_attempt_at"])
    log.warning(
        "notification %s of subscription %s failed (attempt %s): %s",
        message.sequence,
        subscription.pk,
        message.attempts,
        message.last_error,
    )
    _deliver_soon(subscription.pk, countdown=backoff(message.attempts).total_seconds())


def send(subscription: Subscription, message: Message) -> None:
    kind = subscription.kind
    if kind == Subscription.Kind.WEBHOOK:
        transports.send_webhook(subscription.target, subscription.secret, message.payload)
    elif kind == Subscription.Kind.SLACK:
        url = transports.slack_apprise_url(subscription.target)
        transports.send_apprise(url, "", message.text)
    elif kind == Subscription.Kind.APPRISE:
        transports.send_apprise(
            subscription.target, message.title, "\n".join(message.text.splitlines()[1:])
        )
    else:
        path = reverse("notify-unsubscribe", args=[unsubscribe_token(subscription)])
        transports.send_email(
            subscription.target, message.title, message.text, settings.PUBLIC_URL + path
        )


# --- the sweep ----------------------------------------------------------------------------------
def sweep(now: datetime | None = None) -> None:
    """Every few seconds (beat): flush the launches whose flush is due (also when the countdown
    task was lost, or a change was made where nobody was known to watch), send reminders, and
    retry deliveries whose time came."""
    now = now or timezone.now()
    notices = LaunchNotice.objects.filter(launch__subscriptions__active=True).distinct()
    for launch_id, due, told, state in notices.values_list(
        "launch_id", "flush_due_at", "told_state", "launch__readiness_state"
    ):
        if due is None and told != state:
            change_noted(launch_id, now)
        elif due is not None and due <= now:
            flush(launch_id, now)
        reminders(launch_id, now)
    waiting = (
        Message.objects.filter(status=Message.Status.PENDING, next_attempt_at__lte=now)
        .order_by()
        .values_list("subscription_id", flat=True)
        .distinct()
    )
    for subscription_id in list(waiting):
        _deliver_soon(subscription_id)
