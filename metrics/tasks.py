"""Celery tasks: thin interfaces (an id in, one service call)."""

from celery import shared_task

from . import services


@shared_task(acks_late=True, max_retries=2, soft_time_limit=25 * 60, time_limit=30 * 60)
def ingest_run(run_id: int) -> None:
    services.run_process(run_id)
