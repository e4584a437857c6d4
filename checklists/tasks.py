"""Periodic checks of the launches themselves."""

from celery import shared_task

from checklists.core.services import readiness_check

from .models import Launch


@shared_task(ignore_result=True, soft_time_limit=60, time_limit=90)
def sweep_readiness() -> None:
    """Evidence goes stale by the clock alone: look again at every launch, and record and
    announce any criterion, sign-off or verdict that changed since the last look."""
    for launch_id in Launch.objects.values_list("id", flat=True):
        readiness_check(launch_id)
