"""The launch as data: its plan (tasks, load-test suite, criteria, risks, decision gates, sign-off
roles), the live state people change (task status, ticks, sign-offs) and the append-only Event log.

Plan rows are created and updated by ``plan_import``; live-state fields (task status, criterion
ticks) are only set from the plan when the row is first created, so re-importing a plan never
undoes work done on the board.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone


class Launch(models.Model):
    class Visibility(models.TextChoices):
        PUBLIC = "public", "Public (anyone can read)"
        PRIVATE = "private", "Private (members only)"

    class Phase(models.TextChoices):
        PREPARING = "preparing", "Preparing"
        LIVE = "live", "Live"
        ROLLED_BACK = "rolled_back", "Rolled back"

    slug = models.SlugField(unique=True, max_length=80)
    name = models.CharField(max_length=200)
    summary = models.TextField(blank=True)
    target_at = models.DateTimeField(null=True, blank=True, help_text="Planned go-live.")
    next_steps = models.JSONField(
        default=list, blank=True, help_text="After the decision: [{title, items: [...]}]."
    )
    visibility = models.CharField(
        max_length=10, choices=Visibility.choices, default=Visibility.PRIVATE
    )
    window_start = models.DateTimeField(null=True, blank=True, help_text="Launch window opens.")
    window_end = models.DateTimeField(null=True, blank=True, help_text="Launch window closes.")
    timezone = models.CharField(max_length=64, blank=True, help_text="The window's time zone.")
    rollout = models.JSONField(
        default=dict, blank=True, help_text="After GO: {watch_minutes, stages, triggers}."
    )
    rollback = models.JSONField(
        default=list, blank=True, help_text="The rollback plan: [{key, title, owner, ...}]."
    )
    # the watch after GO (live state, changed only by checklists.core.rollout)
    phase = models.CharField(max_length=12, choices=Phase.choices, default=Phase.PREPARING)
    live_at = models.DateTimeField(null=True, blank=True)
    stage = models.PositiveSmallIntegerField(default=0, help_text="Index of the current stage.")
    stage_at = models.DateTimeField(null=True, blank=True)
    tripped_at = models.DateTimeField(null=True, blank=True, help_text="A trigger fired.")
    tripped_reason = models.TextField(blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(
        default=0, help_text="Bumped by every recorded change; equals the newest Event's version."
    )
    plan_hash = models.CharField(max_length=64, blank=True)
    readiness_state = models.JSONField(
        default=dict, blank=True, help_text="Statuses when last looked at (see readiness_check)."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "launches"

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("launch-status", args=[self.slug])


class Task(models.Model):
    class Priority(models.TextChoices):
        CRITICAL = "critical", "Critical"
        HIGH = "high", "High"
        OPTIONAL = "optional", "Optional"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        IN_PROGRESS = "in_progress", "In progress"
        DONE = "done", "Done"
        BLOCKED = "blocked", "Blocked"

    launch = models.ForeignKey(Launch, on_delete=models.CASCADE, related_name="tasks")
    key = models.SlugField(max_length=80)
    title = models.CharField(max_length=200)
    priority = models.CharField(max_length=10, choices=Priority.choices)
    estimate_minutes = models.PositiveIntegerField()
    order = models.PositiveIntegerField(default=0)
    depends_on = models.JSONField(default=list, blank=True, help_text="Keys of tasks first.")
    runbook = models.TextField(blank=True, help_text="The commands of this step.")
    # live state
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    blocked_reason = models.CharField(max_length=500, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["launch", "order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["launch", "key"], name="task_unique_key"),
        ]

    def __str__(self):
        return f"{self.launch.slug}:{self.key}"

    @property
    def optional(self) -> bool:
        return self.priority == self.Priority.OPTIONAL


class LoadTest(models.Model):
    """One test of the launch's load-test suite (baseline, peak, spike, ...)."""

    launch = models.ForeignKey(Launch, on_delete=models.CASCADE, related_name="load_tests")
    key = models.SlugField(max_length=80)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    command = models.TextField(blank=True)
    order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["launch", "order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["launch", "key"], name="loadtest_unique_key"),
        ]

    def __str__(self):
        return f"{self.launch.slug}:{self.key}"


class Criterion(models.Model):
    """A success criterion: ticked by a person (manual) or judged from evidence (metric)."""

    class Kind(models.TextChoices):
        MANUAL = "manual", "Manual"
        METRIC = "metric", "Metric"

    class Section(models.TextChoices):
        CHECKLIST = "checklist", "Success criteria"
        VALIDATION = "validation", "Validation of the fix"
        SUITE = "suite", "Load-test suite"
        LIVE = "live", "Live metrics"

    launch = models.ForeignKey(Launch, on_delete=models.CASCADE, related_name="criteria")
    key = models.SlugField(max_length=80)
    title = models.CharField(max_length=200)
    section = models.CharField(max_length=12, choices=Section.choices, default=Section.CHECKLIST)
    order = models.PositiveIntegerField(default=0)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    required = models.BooleanField(default=True)
    description = models.TextField(blank=True)
    # metric criteria: where the evidence comes from and the k6-style threshold it must meet
    test = models.SlugField(max_length=80, blank=True, help_text="Load test key (runs).")
    source = models.SlugField(max_length=80, blank=True, help_text="Live source key.")
    metric = models.CharField(max_length=120, blank=True)
    threshold = models.CharField(max_length=120, blank=True)
    warn = models.CharField(max_length=120, blank=True, help_text="Warning band threshold.")
    measure = models.CharField(max_length=200, blank=True, help_text="What is measured, in words.")
    unit = models.CharField(max_length=12, blank=True)
    after = models.SlugField(max_length=80, blank=True, help_text="Evidence must follow this task.")
    max_age_seconds = models.PositiveIntegerField(null=True, blank=True)
    all_of = models.JSONField(default=list, blank=True, help_text="Passes when all these pass.")
    params = models.JSONField(default=dict, blank=True)
    waivable_by = models.JSONField(
        default=list, blank=True, help_text="Sign-off roles that may waive it (empty: any)."
    )
    # manual state
    checked = models.BooleanField(default=False)
    checked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    checked_by_name = models.CharField(max_length=150, blank=True)
    checked_at = models.DateTimeField(null=True, blank=True)
    evidence_url = models.URLField(blank=True)
    note = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["launch", "order", "id"]
        verbose_name_plural = "criteria"
        constraints = [
            models.UniqueConstraint(fields=["launch", "key"], name="criterion_unique_key"),
        ]

    def __str__(self):
        return f"{self.launch.slug}:{self.key}"


class Risk(models.Model):
    class Level(models.TextChoices):
        HIGH = "high", "High"
        MEDIUM = "medium", "Medium"
        LOW = "low", "Low"

    launch = models.ForeignKey(Launch, on_delete=models.CASCADE, related_name="risks")
    key = models.SlugField(max_length=80)
    title = models.CharField(max_length=200)
    order = models.PositiveIntegerField(default=0)
    before_level = models.CharField(max_length=8, choices=Level.choices)
    before_value = models.CharField(max_length=80, blank=True)
    after_level = models.CharField(max_length=8, choices=Level.choices)
    after_value = models.CharField(max_length=80, blank=True)
    mitigation = models.CharField(max_length=300, blank=True)
    measured_by = models.JSONField(default=list, blank=True, help_text="Criterion keys.")

    class Meta:
        ordering = ["launch", "order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["launch", "key"], name="risk_unique_key"),
        ]

    def __str__(self):
        return f"{self.launch.slug}:{self.key}"


class Gate(models.Model):
    """A step of the go/no-go decision tree, evaluated in order."""

    launch = models.ForeignKey(Launch, on_delete=models.CASCADE, related_name="gates")
    key = models.SlugField(max_length=80)
    title = models.CharField(max_length=200)
    order = models.PositiveIntegerField(default=0)
    requires_tasks = models.JSONField(default=list, blank=True)
    requires_criteria = models.JSONField(default=list, blank=True)
    pass_label = models.CharField(max_length=120, default="Continue")
    fail_label = models.CharField(max_length=120, default="NO GO")

    class Meta:
        ordering = ["launch", "order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["launch", "key"], name="gate_unique_key"),
        ]

    def __str__(self):
        return f"{self.launch.slug}:{self.key}"


class SignOffRole(models.Model):
    launch = models.ForeignKey(Launch, on_delete=models.CASCADE, related_name="signoff_roles")
    key = models.SlugField(max_length=40)
    title = models.CharField(max_length=80)
    order = models.PositiveIntegerField(default=0)
    required = models.BooleanField(default=True)

    class Meta:
        ordering = ["launch", "order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["launch", "key"], name="signoffrole_unique_key"),
        ]

    def __str__(self):
        return f"{self.launch.slug}:{self.key}"


class AppendOnlyQuerySet(models.QuerySet):
    """Rows that record what happened: added, never changed or removed."""

    def update(self, **kwargs):
        raise PermissionError(f"{self.model.__name__} rows are append-only: no update.")

    def delete(self):
        raise PermissionError(f"{self.model.__name__} rows are append-only: no delete.")


class AppendOnly(models.Model):
    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise PermissionError(f"{type(self).__name__} rows are append-only: no change.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError(f"{type(self).__name__} rows are append-only: no delete.")


class SignOff(AppendOnly):
    """One decision by an approver. The newest row per role is the role's current sign-off.

    ``role`` is the role key, not a foreign key, so a decision survives plan edits.
    """

    class Decision(models.TextChoices):
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        # Recorded by the system when an approval goes stale (services.signoffs_lapse): the
        # approval stays stale from then on, whatever the state does, until its role signs
        # again. ``comment`` says why; ``snapshot_hash`` names the approval that lapsed.
        LAPSED = "lapsed", "Lapsed"

    launch = models.ForeignKey(Launch, on_delete=models.CASCADE, related_name="signoffs")
    role = models.SlugField(max_length=40)
    decision = models.CharField(max_length=10, choices=Decision.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    by_name = models.CharField(max_length=150)
    comment = models.TextField(blank=True)
    at = models.DateTimeField()
    snapshot_hash = models.CharField(max_length=64)
    snapshot = models.JSONField(default=dict)

    class Meta:
        ordering = ["launch", "role", "-at", "-id"]
        constraints = [
            # An approval lapses once. (One decision per role and state since the last lapse,
            # so that a replayed form is not a second row, is checked under the launch's row
            # lock in services.signoff_record: after a lapse the same state may be signed again.)
            models.UniqueConstraint(
                fields=["launch", "role", "snapshot_hash"],
                condition=models.Q(decision="lapsed"),
                name="signoff_lapses_once",
            ),
        ]

    def __str__(self):
        return f"{self.launch.slug}:{self.role}:{self.decision}"


class Event(AppendOnly):
    """One recorded change: who, what, before, after, when, and the launch version it made.

    Append-only and hash-chained per launch: ``hash`` covers the row and ``prev_hash``.
    Written by ``checklists.core.events.append_event`` in the same transaction as the change.
    """

    launch = models.ForeignKey(Launch, on_delete=models.PROTECT, related_name="events")
    version = models.PositiveIntegerField()
    kind = models.CharField(max_length=40)
    subject = models.CharField(max_length=120, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_name = models.CharField(max_length=150)
    summary = models.CharField(max_length=300)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField()
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)
    # The HMAC key the hash was made with (settings.AUDIT_KEYS); empty: a plain SHA-256 from
    # before the chain was keyed (checklists/core/audit.py).
    key_id = models.CharField(max_length=40, blank=True, default="")

    class Meta:
        ordering = ["launch", "version"]
        constraints = [
            models.UniqueConstraint(fields=["launch", "version"], name="event_unique_version"),
        ]

    def __str__(self):
        return f"{self.launch_id}#{self.version} {self.kind}"


class StatePart(models.Model):
    """A piece of a launch's readiness inputs (a task, a criterion and its observation, the
    sign-offs...), stored once by content: ``sha`` is the SHA-256 of its canonical JSON, so a
    version that changes one item adds one part (checklists.core.history)."""

    sha = models.CharField(max_length=64, primary_key=True)
    data = models.JSONField()

    def __str__(self):
        return self.sha[:12]


class BoardState(AppendOnly):
    """What the readiness engine was given at one version of a launch, as the root of a tree
    of StateParts, and the moment it is evaluated at (its event's time). Written in the
    transaction of the change with its Event; any past board is rebuilt from it."""

    launch = models.ForeignKey(Launch, on_delete=models.CASCADE, related_name="states")
    version = models.PositiveIntegerField()
    at = models.DateTimeField()
    root = models.CharField(max_length=64)

    class Meta:
        ordering = ["launch", "version"]
        constraints = [
            models.UniqueConstraint(fields=["launch", "version"], name="boardstate_unique_version"),
        ]

    def __str__(self):
        return f"{self.launch_id}@{self.version}"


class Meeting(models.Model):
    """A go/no-go meeting: the board frozen at one version (the live one keeps going) while
    the attendees are noted and each sign-off role votes; closing it makes a DecisionRecord."""

    class Outcome(models.TextChoices):
        GO = "GO", "GO"
        NO_GO = "NO_GO", "NO GO"
        GO_WITH_WAIVERS = "GO_WITH_WAIVERS", "GO with waivers"

    launch = models.ForeignKey(Launch, on_delete=models.CASCADE, related_name="meetings")
    frozen_version = models.PositiveIntegerField()
    frozen_hash = models.CharField(max_length=64)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    opened_by_name = models.CharField(max_length=150)
    opened_at = models.DateTimeField()
    attendees = models.JSONField(default=list, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["launch", "-opened_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["launch"],
                condition=models.Q(closed_at__isnull=True),
                name="meeting_one_open_per_launch",
            ),
        ]

    def __str__(self):
        return f"{self.launch_id} meeting at v{self.frozen_version}"


class MeetingVote(AppendOnly):
    """One vote of a sign-off role in a meeting; the newest per role counts."""

    class Vote(models.TextChoices):
        GO = "go", "Go"
        NO_GO = "no_go", "No go"
        ABSTAIN = "abstain", "Abstain"

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="votes")
    role = models.SlugField(max_length=40)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    by_name = models.CharField(max_length=150)
    vote = models.CharField(max_length=8, choices=Vote.choices)
    comment = models.CharField(max_length=1000, blank=True)
    at = models.DateTimeField()

    class Meta:
        ordering = ["meeting", "role", "-at", "-id"]

    def __str__(self):
        return f"{self.role}: {self.vote}"


class DecisionRecord(AppendOnly):
    """What a go/no-go meeting decided, immutable: bound to the SHA-256 of the board it froze
    (the canonical snapshot sign-off uses), which the board rebuilt at ``version`` must
    reproduce; ``event_version`` is its Event in the audit chain."""

    launch = models.ForeignKey(Launch, on_delete=models.PROTECT, related_name="decisions")
    meeting = models.OneToOneField(Meeting, on_delete=models.PROTECT, related_name="record")
    version = models.PositiveIntegerField(help_text="The version the meeting froze.")
    snapshot_hash = models.CharField(max_length=64)
    verdict = models.CharField(max_length=8, help_text="The board's verdict at that version.")
    outcome = models.CharField(max_length=16, choices=Meeting.Outcome.choices)
    attendees = models.JSONField(default=list)
    votes = models.JSONField(default=list)
    waivers = models.JSONField(default=list)
    note = models.TextField(blank=True)
    decided_by_name = models.CharField(max_length=150)
    decided_at = models.DateTimeField()
    event_version = models.PositiveIntegerField()

    class Meta:
        ordering = ["launch", "-decided_at"]

    def __str__(self):
        return f"{self.launch_id} {self.outcome} at v{self.version}"


class ApiTokenQuerySet(models.QuerySet):
    def usable(self):
        now = timezone.now()
        return self.filter(revoked_at__isnull=True).filter(
            models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now)
        )


class ApiToken(models.Model):
    """A token for CI, bound to one launch and to what it may do. Only its SHA-256 is stored;
    the token itself is shown once, when it is made."""

    class Scope(models.TextChoices):
        UPLOAD = "runs:write", "Upload load-test results"
        READ = "readiness:read", "Read readiness and runs"

    launch = models.ForeignKey(Launch, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=80)
    prefix = models.CharField(max_length=12, help_text="The first characters, to recognise it.")
    digest = models.CharField(max_length=64, unique=True)
    scopes = models.JSONField(default=list)
    created_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    # Upload limits (checklists/core/quotas.py): this minute's uploads and today's bytes.
    upload_minute = models.DateTimeField(null=True, blank=True, editable=False)
    uploads_this_minute = models.PositiveIntegerField(default=0, editable=False)
    upload_day = models.DateField(null=True, blank=True, editable=False)
    upload_bytes_today = models.BigIntegerField(default=0, editable=False)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["launch", "-created_at"]

    def __str__(self):
        return f"{self.launch_id}:{self.name} ({self.prefix}…)"


class Membership(models.Model):
    """A person's role on one launch. Someone may hold several (engineer and CTO approver)."""

    class Role(models.TextChoices):
        VIEWER = "viewer", "Viewer"
        ENGINEER = "engineer", "Engineer"
        APPROVER = "approver", "Approver"
        ADMIN = "admin", "Launch admin"

    launch = models.ForeignKey(Launch, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="launch_memberships"
    )
    role = models.CharField(max_length=10, choices=Role.choices)
    signoff_role = models.SlugField(
        max_length=40, blank=True, help_text="For approvers: the sign-off role they hold (cto)."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["launch", "user", "role"]
        constraints = [
            models.UniqueConstraint(
                fields=["launch", "user", "role", "signoff_role"], name="membership_unique"
            ),
            models.CheckConstraint(
                condition=models.Q(role="approver", signoff_role__gt="")
                | (~models.Q(role="approver") & models.Q(signoff_role="")),
                name="membership_approver_has_role",
            ),
        ]

    def __str__(self):
        suffix = f":{self.signoff_role}" if self.signoff_role else ""
        return f"{self.user_id}@{self.launch_id} {self.role}{suffix}"


class ShareLink(models.Model):
    """A revocable read-only link to a private launch's status page, for stakeholders without
    an account. Only the SHA-256 of its secret is stored."""

    launch = models.ForeignKey(Launch, on_delete=models.CASCADE, related_name="share_links")
    label = models.CharField(max_length=80)
    digest = models.CharField(max_length=64, unique=True)
    created_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["launch", "-created_at"]

    def __str__(self):
        return f"{self.launch_id}:{self.label}"


class Waiver(models.Model):
    """An accepted failure of one criterion for this launch, by an approver: shown as waived
    (never pass) until it expires or the value gets worse than when it was waived."""

    launch = models.ForeignKey(Launch, on_delete=models.CASCADE, related_name="waivers")
    criterion = models.SlugField(max_length=80)
    role = models.SlugField(max_length=40)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    by_name = models.CharField(max_length=150)
    reason = models.TextField()
    compensating_control = models.TextField()
    expires_at = models.DateTimeField()
    value_at_waiver = models.FloatField(null=True, blank=True)
    # "not applicable here": a criterion whose source this installation has not configured
    # (e.g. CloudWatch where there is no AWS account); it counts only while there is no evidence.
    not_applicable = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["launch", "-created_at"]

    def __str__(self):
        return f"{self.launch_id}:{self.criterion} waived by {self.by_name}"
