"""A poll's time budget and its small, bounded retry loop (exponential backoff, jitter)."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

from .types import SourceError

T = TypeVar("T")

ATTEMPTS = 3
BACKOFF_BASE_S = 0.1  # first pause 0.05..0.1 s, then 0.1..0.2 s
# Don't start an attempt with less budget left than this: it could only end in a timeout.
MIN_ATTEMPT_S = 0.25
# Kinds worth a second try within the same poll; a timeout has already spent the budget.
_TRANSIENT = frozenset({"unreachable", "throttled"})


class Deadline:
    """The end of a poll's budget, on the monotonic clock."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self._clock = clock
        self._end = clock() + seconds

    def remaining(self) -> float:
        return max(0.0, self._end - self._clock())

    def expired(self) -> bool:
        return self.remaining() <= 0.0


def backoff_delay(attempt: int, rng: Callable[[], float] = random.random) -> float:
    """Pause after failed attempt `attempt` (1-based): half fixed, half random ("equal jitter"),
    so that many workers retrying at once spread out."""
    ceiling = BACKOFF_BASE_S * 2 ** (attempt - 1)
    return ceiling / 2 + rng() * ceiling / 2


def call_with_retry(attempt_fn: Callable[[], T], deadline: Deadline, attempts: int = ATTEMPTS) -> T:
    """Call `attempt_fn` up to `attempts` times while it raises a transient SourceError and the
    deadline leaves room for another try; re-raise the last error otherwise."""
    for attempt in range(1, attempts + 1):
        try:
            return attempt_fn()
        except SourceError as error:
            delay = backoff_delay(attempt)
            if not _worth_retrying(error, attempt, attempts, deadline, delay):
                raise
        time.sleep(delay)
    raise AssertionError("unreachable: the loop returns or raises")


def _worth_retrying(
    error: SourceError, attempt: int, attempts: int, deadline: Deadline, delay: float
) -> bool:
    return (
        error.retryable
        and error.kind in _TRANSIENT
        and attempt < attempts
        and deadline.remaining() > delay + MIN_ATTEMPT_S
    )
