"""Celery interfaces: an id in, one service call. Retries are the messages' own (each failed
attempt sets its next try, with backoff, and queues this task for then): the database, not the
broker, holds what is still to send, so a lost task costs a sweep's delay, never a message."""

from celery import shared_task

from notifications import services


@shared_task(ignore_result=True, soft_time_limit=20, time_limit=30)
def flush(launch_id: int) -> None:
    services.flush(launch_id)


@shared_task(ignore_result=True, soft_time_limit=120, time_limit=150)
def deliver(subscription_id: int) -> None:
    services.deliver(subscription_id)


@shared_task(ignore_result=True, soft_time_limit=60, time_limit=90)
def sweep() -> None:
    services.sweep()
