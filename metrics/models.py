"""The evidence: live metric sources and what they report, and (ingested) load-test runs.

This app never imports ``checklists``; it names the launch model by string.
"""

from __future__ import annotations

from django.db import models

LAUNCH = "checklists.Launch"


class Source(models.Model):
    """A live source declared by a launch plan (InfluxDB, CloudWatch), with its health."""

    class Kind(models.TextChoices):
        INFLUXDB1 = "influxdb1", "InfluxDB 1.x (InfluxQL)"
        INFLUXDB2 = "influxdb2", "InfluxDB 2.x (Flux)"
        CLOUDWATCH = "cloudwatch", "CloudWatch metrics"
        CLOUDWATCH_ALARMS = "cloudwatch-alarms", "CloudWatch alarms"

    launch = models.ForeignKey(LAUNCH, on_delete=models.CASCADE, related_name="sources")
    key = models.SlugField(max_length=80)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    title = models.CharField(max_length=200)
    config = models.JSONField(default=dict, blank=True)
    order = models.PositiveIntegerField(default=0)
    interval_seconds = models.PositiveIntegerField(default=60)
    stale_after_seconds = models.PositiveIntegerField(default=300)
    queries = models.JSONField(
        default=list, blank=True, help_text="[metric, aggregate, window_s] the plan's criteria ask."
    )
    # health
    configured = models.BooleanField(default=False)
    status_note = models.CharField(max_length=300, blank=True)
    polling_until = models.DateTimeField(null=True, blank=True)
    last_polled_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["launch", "order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["launch", "key"], name="source_unique_key"),
        ]

    def __str__(self):
        return f"{self.launch_id}:{self.key}"

    @property
    def health(self) -> str:
        """not_configured, waiting (never polled), ok or failing."""
        if not self.configured:
            return "not_configured"
        if self.consecutive_failures:
            return "failing"
        return "ok" if self.last_success_at else "waiting"


class SourceReading(models.Model):
    """One poll's answer to one query of a source (an alarm's state is one too)."""

    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="readings")
    metric = models.CharField(max_length=120)
    aggregate = models.CharField(max_length=20)
    window_s = models.PositiveIntegerField(default=0)
    value = models.FloatField(null=True, blank=True)
    count = models.BigIntegerField(null=True, blank=True)
    at = models.DateTimeField(null=True, blank=True, help_text="Time of the newest data point.")
    text = models.CharField(max_length=500, blank=True)
    polled_at = models.DateTimeField()

    class Meta:
        ordering = ["source", "-polled_at", "-id"]
        indexes = [models.Index(fields=["source", "metric", "aggregate", "window_s", "polled_at"])]

    def __str__(self):
        return f"{self.source_id}:{self.metric} {self.aggregate}={self.value}"


class SourceSeries(models.Model):
    """The newest chart series of one query: what the page draws."""

    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="series")
    metric = models.CharField(max_length=120)
    aggregate = models.CharField(max_length=20)
    window_s = models.PositiveIntegerField(default=0)
    points = models.JSONField(default=dict)  # {"t": [iso, ...], "v": [float, ...]}
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "source series"
        constraints = [
            models.UniqueConstraint(
                fields=["source", "metric", "aggregate", "window_s"], name="series_unique_query"
            ),
        ]

    def __str__(self):
        return f"{self.source_id}:{self.metric} {self.aggregate}"


class Run(models.Model):
    """One ingested load-test result file: its figures, or why it could not be used.

    The same file (content hash) is one run per launch. Only ``done`` runs that are complete and
    not marked invalid count as evidence; the newest of a test feeds that test's criteria.
    """

    class Status(models.TextChoices):
        PROCESSING = "processing", "Processing"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    class Via(models.TextChoices):
        CLI = "cli", "Command line"
        API = "api", "API"
        UPLOAD = "upload", "Upload form"

    launch = models.ForeignKey(LAUNCH, on_delete=models.CASCADE, related_name="runs")
    test = models.SlugField(max_length=80, blank=True)
    sha256 = models.CharField(max_length=64)
    filename = models.CharField(max_length=255, blank=True)
    size_bytes = models.BigIntegerField(default=0)
    via = models.CharField(max_length=8, choices=Via.choices, default=Via.CLI)
    created_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PROCESSING)
    error = models.CharField(max_length=500, blank=True)
    progress = models.JSONField(default=dict, blank=True)
    stored_path = models.CharField(max_length=500, blank=True)
    # A worker parsing the run beats here; a run whose worker died is queued again
    # (services.runs_requeue_stalled). queued_at: when its task was last sent.
    heartbeat_at = models.DateTimeField(null=True, blank=True, editable=False)
    queued_at = models.DateTimeField(null=True, blank=True, editable=False)
    # host:pid of the worker process parsing it: a redelivered task whose claimant is a dead
    # process of the same host takes the run over at once (services.run_process).
    claimed_by = models.CharField(max_length=120, blank=True, editable=False)
    # what the file says
    tool = models.CharField(max_length=10, blank=True)
    format = models.CharField(max_length=12, blank=True)
    complete = models.BooleanField(default=False)
    incomplete_reason = models.CharField(max_length=300, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    duration_s = models.FloatField(null=True, blank=True)
    overall = models.JSONField(default=dict, blank=True)
    scenarios = models.JSONField(default=dict, blank=True)
    endpoints = models.JSONField(default=dict, blank=True)
    checks = models.JSONField(default=dict, blank=True)
    checks_rate = models.FloatField(null=True, blank=True)
    groups = models.JSONField(default=dict, blank=True)
    thresholds = models.JSONField(default=list, blank=True)
    metrics = models.JSONField(default=dict, blank=True)
    timeout_breakdown = models.JSONField(default=dict, blank=True)
    lines = models.BigIntegerField(default=0)
    warnings = models.JSONField(default=list, blank=True)
    # the encoding guessed for a file whose text was not UTF-8 (its names were decoded with it)
    encoding = models.CharField(max_length=40, blank=True)
    # what people say about it
    invalid_reason = models.CharField(max_length=300, blank=True)
    invalidated_by = models.CharField(max_length=150, blank=True)
    invalidated_at = models.DateTimeField(null=True, blank=True)
    is_baseline = models.BooleanField(default=False)

    class Meta:
        ordering = ["launch", "-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["launch", "sha256"], name="run_unique_content"),
        ]
        indexes = [models.Index(fields=["launch", "test", "status"])]

    def __str__(self):
        return f"run {self.pk} ({self.test or 'no test'})"

    @property
    def valid(self) -> bool:
        return not self.invalidated_at

    @property
    def taken_at(self):
        """When the test ran: the file's end time, else when it reached us."""
        return self.ended_at or self.created_at


class RunSeries(models.Model):
    """The 1-second series of a run, kept apart so lists of runs never load it."""

    run = models.OneToOneField(Run, on_delete=models.CASCADE, related_name="series")
    points = models.JSONField(default=dict)  # {"t": [...], "requests": [...], ...} columns

    class Meta:
        verbose_name_plural = "run series"

    def __str__(self):
        return f"series of run {self.run_id}"
