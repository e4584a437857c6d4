"""Who is told about a launch (Subscription), what they are told (Message, one row per message,
in order per subscription) and what the launch last told (LaunchNotice: the baseline)."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Subscription(models.Model):
    class Kind(models.TextChoices):
        WEBHOOK = "webhook", "Webhook (signed JSON)"
        SLACK = "slack", "Slack-compatible webhook"
        APPRISE = "apprise", "Chat service (apprise URL)"
        EMAIL = "email", "Email"

    launch = models.ForeignKey(
        "checklists.Launch", on_delete=models.CASCADE, related_name="subscriptions"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    # A webhook's URL is a secret (it often embeds the token): shown redacted, never logged.
    target = models.TextField()
    # The webhook's HMAC key, shown once when made.
    secret = models.CharField(max_length=80, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE
    )
    created_by = models.CharField(max_length=150, blank=True)
    remind_minutes = models.PositiveIntegerField(
        null=True, blank=True, help_text="Repeat a failing state this often (empty: the setting)."
    )
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # The delivery lease: one worker delivers a subscription's messages at a time, in order.
    lease_until = models.DateTimeField(null=True, blank=True)
    last_message_at = models.DateTimeField(null=True, blank=True)
    next_sequence = models.PositiveIntegerField(default=1)

    class Meta:
        indexes = [models.Index(fields=["launch", "active"])]

    def __str__(self):
        return f"{self.get_kind_display()} {self.shown_target} ({self.launch_id})"

    @property
    def shown_target(self) -> str:
        from notifications.transports import shown_target  # models stay free of HTTP code

        return shown_target(self.kind, self.target)


class Message(models.Model):
    class Kind(models.TextChoices):
        CHANGE = "change"
        REMINDER = "reminder"
        RESOLVED = "resolved"
        TEST = "test"

    class Status(models.TextChoices):
        PENDING = "pending"
        SENT = "sent"

    subscription = models.ForeignKey(
        Subscription, on_delete=models.CASCADE, related_name="messages"
    )
    sequence = models.PositiveIntegerField()
    kind = models.CharField(max_length=10, choices=Kind.choices)
    title = models.CharField(max_length=300)
    text = models.TextField()
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField()
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    last_error = models.CharField(max_length=500, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["subscription", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["subscription", "sequence"], name="message_in_order")
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self):
        return f"#{self.sequence} {self.kind} {self.status}"


class LaunchNotice(models.Model):
    """Per launch: the state last told (messages say the net change from it), whether a
    coalesced flush is due, and since when something has been failing."""

    launch = models.OneToOneField(
        "checklists.Launch", on_delete=models.CASCADE, related_name="notice"
    )
    told_state = models.JSONField(default=dict)
    flush_due_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"notice of launch {self.launch_id}"
