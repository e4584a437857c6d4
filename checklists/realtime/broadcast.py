"""The one way to tell open pages about a change: the receiver of the core's ``launch_changed``
(sent after commit, in any process: web, Celery worker, management command) and of the
evidence's progress and live-data signals. A failed publish never fails the write: the Event
log is the source of truth and every server process's watcher catches its pages up from it."""

from __future__ import annotations

import asyncio
import logging

from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.dispatch import receiver

from checklists.board.sections import render_and_share
from checklists.core.services import readiness_check
from checklists.realtime.hub import group_name, server_loop
from checklists.signals import launch_changed
from metrics.signals import ingest_progress, live_sample

log = logging.getLogger(__name__)
# A hung Redis (not down: it accepts and never answers) must not hold a user's request: past
# this, the pages learn of the change from the Event log instead (reliability.md T3).
PUBLISH_TIMEOUT_S = 1.5


def publish(launch_id: int, message: dict) -> None:
    """group_send to the launch's pages, safely from any thread."""
    layer = get_channel_layer()
    if layer is None:
        return
    send = layer.group_send(group_name(launch_id), message)
    loop = server_loop()
    try:
        if loop is not None and isinstance(layer, InMemoryChannelLayer):
            # The in-memory layer belongs to the server's event loop: hop onto it from
            # whatever thread we are in (a view's thread, the embedded Celery worker).
            try:
                running = asyncio.get_running_loop()
            except RuntimeError:
                running = None
            if running is loop:
                loop.create_task(send)
            else:
                asyncio.run_coroutine_threadsafe(send, loop).result(timeout=PUBLISH_TIMEOUT_S)
        else:

            async def deliver():
                await asyncio.wait_for(send, PUBLISH_TIMEOUT_S)

            async_to_sync(deliver)()
    except Exception:  # Redis away, loop gone: pages catch up from the Event log
        send.close()
        log.warning(
            "could not publish %s to launch %s", message.get("type"), launch_id, exc_info=True
        )


def _render(launch_id: int, *, live: bool = False):
    try:
        return render_and_share(launch_id, live=live)
    except Exception:
        log.exception("could not render the sections of launch %s", launch_id)
        return None


@receiver(launch_changed)
def announce(sender, *, launch_id: int, version: int, kind: str, **kwargs) -> dict | None:
    """A recorded change: render the sections once, then nudge every page of the launch.
    Answers the readiness state rendered (None if the rendering failed)."""
    sections = _render(launch_id)
    publish(
        launch_id, {"type": "launch.changed", "launch": launch_id, "version": version, "kind": kind}
    )
    return None if sections is None else sections.state


def live_updated(launch_id: int) -> None:
    """New live data that changed no state: the same version, redrawn sections."""
    sections = _render(launch_id, live=True)
    if sections is not None:
        publish(
            launch_id,
            {"type": "launch.live", "launch": launch_id, "rendered_at": sections.rendered_at},
        )


@receiver(live_sample)
def judge_live_sample(sender, *, launch_id, source_id, **kwargs):
    """A source reported: the core records what its data changed (that change is announced
    like any other); if nothing changed, open pages still redraw the new data."""
    if not readiness_check(launch_id):
        live_updated(launch_id)


PROGRESS_KEYS = ("bytes", "total", "lines", "percent")


@receiver(ingest_progress)
def publish_ingest_progress(sender, *, launch_id, run_id, **kwargs):
    """Progress of a file being parsed; not a change of state, so no new version."""
    # kwargs also holds the signal itself: pass on only the figures
    progress = {k: kwargs[k] for k in PROGRESS_KEYS if k in kwargs}
    publish(launch_id, {"type": "ingest.progress", "launch": launch_id, "run": run_id, **progress})
