"""What the launch does when the evidence changes: record an Event, tell open pages."""

from __future__ import annotations

from django.dispatch import receiver

from metrics.signals import evidence_recorded, ingest_progress, live_sample

from .broadcast import ingest_progressed, live_updated
from .events import append_event
from .models import Launch
from .services import readiness_check


@receiver(evidence_recorded)
def record_evidence_event(
    sender, *, launch_id, kind, subject, summary, actor_name, before, after, **kwargs
):
    append_event(
        Launch(pk=launch_id),
        kind=kind,
        subject=subject,
        summary=summary,
        actor_name=actor_name or "system",
        before=before,
        after=after,
    )


PROGRESS_KEYS = ("bytes", "total", "lines", "percent")


@receiver(ingest_progress)
def publish_ingest_progress(sender, *, launch_id, run_id, **kwargs):
    # kwargs also holds the signal itself: pass on only the figures
    ingest_progressed(launch_id, run_id, {k: kwargs[k] for k in PROGRESS_KEYS if k in kwargs})


@receiver(live_sample)
def judge_live_sample(sender, *, launch_id, source_id, **kwargs):
    """A source reported: record what its data changed, then let open pages redraw."""
    if not readiness_check(launch_id):
        live_updated(launch_id)
