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
    # health
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
