"""The Celery app. Production runs separate worker and beat processes; `make run` runs both
inside the web process (see launchboard/embedded.py)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "launchboard.settings")

app = Celery("launchboard")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def _notice_dead_children_sooner() -> None:
    """A prefork pool child that dies (killed, OOM) is noticed by its master from the child's
    sentinel at once, or else by a pool check every 5 s, and only then is its task redelivered
    (acks_late, reject_on_worker_lost). Measured here: ~0.15 s, or ~5 s when the check is what
    notices. Checking every 0.5 s keeps a killed parse's takeover within reliability.md T1a's
    2 s (tests/test_worker_crash.py); the check only looks at the pool's process list."""
    try:
        from celery.concurrency.asynpool import AsynPool  # prefork only: optional
    except ImportError:  # no prefork support here: nothing to tune
        return
    AsynPool.timers = property(lambda self: {self.maintain_pool: 0.5})


_notice_dead_children_sooner()
