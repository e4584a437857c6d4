"""Embedded mode: the Celery worker and beat run as daemon threads of the web process, on the
in-memory broker, so `make run` needs no Redis and no second process.

Web code never waits on a task result: the worker thread marks the process as one where joins
would block (see ARCHITECTURE.md).
"""

from __future__ import annotations

import logging
import threading

log = logging.getLogger(__name__)
_started = threading.Event()


def start_worker_and_beat() -> None:
    """Start the in-process worker and beat once; later calls do nothing."""
    if _started.is_set():
        return
    _started.set()
    # only `make run` starts them: a production web process never imports the worker's code
    from celery.beat import EmbeddedService

    from launchboard.celery import app

    worker = app.Worker(
        pool="solo",
        concurrency=1,
        hostname="embedded@%h",
        loglevel="WARNING",
        without_heartbeat=True,
        without_mingle=True,
        without_gossip=True,
        redirect_stdouts=False,
        quiet=True,
    )
    threading.Thread(target=_run_worker, args=(worker,), name="celery-worker", daemon=True).start()
    EmbeddedService(app, thread=True, scheduler_cls=app.conf.beat_scheduler).start()
    log.info("embedded Celery worker and beat started")


def _run_worker(worker) -> None:
    try:
        worker.start()
    except Exception:  # the web process keeps serving; the health page shows the worker down
        log.exception("the embedded Celery worker stopped")
