"""Celery tasks: thin interfaces (an id in, one service call, the retry policy)."""

from __future__ import annotations

import random

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded

from . import services
from .models import Source

INGEST_SOFT_LIMIT_S = 25 * 60


@shared_task(acks_late=True, max_retries=2, soft_time_limit=INGEST_SOFT_LIMIT_S, time_limit=30 * 60)
def ingest_run(run_id: int) -> None:
    try:
        services.run_process(run_id)
    except SoftTimeLimitExceeded:  # fail it, or the stalled-run sweep would retry it for ever
        services.run_give_up(
            run_id,
            f"parsing took longer than {INGEST_SOFT_LIMIT_S // 60} minutes; "
            "split the file or ingest it with `ingest_results` from a terminal",
        )


@shared_task(ignore_result=True, soft_time_limit=60, time_limit=90)
def requeue_stalled_runs() -> int:
    return services.runs_requeue_stalled()


def retry_delay(retries: int, interval_s: float) -> float:
    """Exponential backoff with jitter, kept well inside the source's polling interval."""
    return min(interval_s / 3, 2.0**retries) * random.uniform(0.5, 1.0)


@shared_task(bind=True, acks_late=True, max_retries=2, soft_time_limit=30, time_limit=45)
def poll_source(self, source_id: int) -> str:
    """Beat calls this on each source's interval. A retryable failure (unreachable, timeout,
    throttled) is tried again soon; the failure is already recorded on the source."""
    try:
        outcome = services.source_poll(source_id)
    except Source.DoesNotExist:
        return "gone"
    error = outcome.error
    if error is not None and error.retryable and self.request.retries < self.max_retries:
        raise self.retry(
            countdown=retry_delay(self.request.retries, outcome.source.interval_seconds)
        )
    return outcome.status
