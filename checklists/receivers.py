"""What the launch does when the evidence changes: record an Event, tell open pages."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_out
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from metrics.signals import evidence_recorded, ingest_progress, live_sample

from .access import access_changed
from .broadcast import ingest_progressed, live_updated
from .events import append_event
from .models import Launch, Membership, ShareLink
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


@receiver(post_save, sender=Membership)
@receiver(post_delete, sender=Membership)
@receiver(post_save, sender=ShareLink)
@receiver(post_delete, sender=ShareLink)
@receiver(post_save, sender=get_user_model())
@receiver(user_logged_out)
def rights_changed(sender, **kwargs):
    """Open pages of private launches recheck their viewers within a second (S6)."""
    if sender is get_user_model() and (
        kwargs.get("created") or set(kwargs.get("update_fields") or ()) == {"last_login"}
    ):
        return  # a new account has no rights yet; a sign-in takes none away
    access_changed()
