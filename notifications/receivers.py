"""Where notifications hear of the launch: ``checklists.signals.readiness_settled``, after the
commit of a change that moved the launch's state. Never raises into the write path."""

from __future__ import annotations

import logging

from django.conf import settings
from django.dispatch import receiver

from checklists.signals import readiness_settled
from notifications import services, tasks

log = logging.getLogger(__name__)


@receiver(readiness_settled)
def note_change(sender, *, launch_id: int, **kwargs) -> None:
    """Set the launch's coalesced flush (once per burst) and queue it for when it is due; the
    sweep flushes it anyway if the queue loses it."""
    try:
        if not services.watching(launch_id) or not services.change_noted(launch_id):
            return
        # No publish retries: a hung broker costs this write at most kombu's socket timeout
        # (reliability.md T3), and the sweep flushes the launch when the queue lost the task.
        tasks.flush.apply_async(
            (launch_id,), countdown=settings.NOTIFY_COALESCE_SECONDS, retry=False
        )
    except Exception:  # the change is committed; the sweep notices the difference
        log.exception("could not note a change of launch %s for notifications", launch_id)
