"""The one way to tell open pages about a change: called after commit, from any process (web,
Celery worker, management command). A failed publish never fails the write: the Event log is
the source of truth and every server process's watcher catches its pages up from it."""

from __future__ import annotations

import asyncio
import logging

from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer

log = logging.getLogger(__name__)
# A hung Redis (not down: it accepts and never answers) must not hold a user's request: past
# this, the pages learn of the change from the Event log instead (reliability.md T3).
PUBLISH_TIMEOUT_S = 1.5


def group_name(launch_id: int) -> str:
    return f"launch.{launch_id}"


def publish(launch_id: int, message: dict) -> None:
    """group_send to the launch's pages, safely from any thread."""
    from .realtime import server_loop

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


def _render(launch_id: int):
    from .sections import render_and_share

    try:
        return render_and_share(launch_id)
    except Exception:
        log.exception("could not render the sections of launch %s", launch_id)
        return None


def launch_changed(launch_id: int, version: int, kind: str):
    """A recorded change: render the sections once, then nudge every page of the launch."""
    sections = _render(launch_id)
    publish(
        launch_id, {"type": "launch.changed", "launch": launch_id, "version": version, "kind": kind}
    )
    return sections


def live_updated(launch_id: int) -> None:
    """New live data that changed no state: the same version, redrawn sections."""
    sections = _render(launch_id)
    if sections is not None:
        publish(
            launch_id,
            {"type": "launch.live", "launch": launch_id, "rendered_at": sections.rendered_at},
        )


def ingest_progressed(launch_id: int, run_id: int, progress: dict) -> None:
    """Progress of a file being parsed; not a change of state, so no new version."""
    publish(launch_id, {"type": "ingest.progress", "launch": launch_id, "run": run_id, **progress})
