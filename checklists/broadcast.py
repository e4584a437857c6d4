"""Publishing changes to open pages. Called only after commit; a failed publish never fails a
write (the Event log is the source of truth; pages catch up from it)."""

from __future__ import annotations

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

log = logging.getLogger(__name__)


def group_name(launch_id: int) -> str:
    return f"launch.{launch_id}"


def launch_changed(launch_id: int, version: int, kind: str) -> None:
    """Nudge every consumer of the launch: something changed, now at ``version``."""
    layer = get_channel_layer()
    if layer is None:
        return
    message = {"type": "launch.changed", "version": version, "kind": kind}
    try:
        async_to_sync(layer.group_send)(group_name(launch_id), message)
    except Exception:  # a layer outage must not fail the caller's committed write
        log.warning(
            "could not publish %s v%s of launch %s", kind, version, launch_id, exc_info=True
        )


def ingest_progressed(launch_id: int, run_id: int, progress: dict) -> None:
    """Progress of a file being parsed; not a change of state, so it carries no new version."""
    layer = get_channel_layer()
    if layer is None:
        return
    message = {"type": "ingest.progress", "run": run_id, **progress}
    try:
        async_to_sync(layer.group_send)(group_name(launch_id), message)
    except Exception:
        log.debug("could not publish ingest progress of run %s", run_id, exc_info=True)


def live_updated(launch_id: int) -> None:
    """New live data that changed no state: pages redraw their live figures (same version)."""
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group_name(launch_id), {"type": "live.updated"})
    except Exception:
        log.debug("could not publish live data of launch %s", launch_id, exc_info=True)
