"""What the launch's core does when something happens below or beside it: the evidence changed
(record an Event), rights changed (open pages recheck their viewers), a change may have left
approvals stale (lapse them)."""

from __future__ import annotations

import logging

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_out
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from checklists.core.access import access_changed
from checklists.core.events import append_event
from checklists.core.services import infer_run_test, signoffs_lapse
from checklists.models import Launch, Membership, ShareLink
from checklists.signals import approvals_to_check
from metrics.signals import evidence_recorded

log = logging.getLogger(__name__)


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
    if kind == "run.ingested" and after and not after.get("test"):
        # A run given no test is evidence for the one its file names, never silently for none.
        infer_run_test(after["run"])


@receiver(approvals_to_check)
def lapse_stale_approvals(sender, *, launch_id, statuses, **kwargs):
    try:
        signoffs_lapse(launch_id, statuses)
    except Exception:  # the change itself is committed; the clock's sweep tries again
        log.exception("could not record lapsed sign-offs of launch %s", launch_id)


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
