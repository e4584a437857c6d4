"""Tasks of the deployment itself (not of a launch)."""

from celery import shared_task
from celery.signals import worker_ready

from .health import beat


@shared_task(ignore_result=True, soft_time_limit=10, time_limit=20)
def heartbeat() -> None:
    """Run by beat every few seconds: a worker that takes tasks keeps /readyz ready."""
    beat()


@worker_ready.connect
def _ready(**_):
    beat()  # ready at once, not at the first beat
