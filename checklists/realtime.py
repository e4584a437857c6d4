"""The real-time hub of one server process: its open pages per launch, the sections it has
rendered or fetched, and a watcher of the Event log.

The channel layer is a nudge, not the source of truth. The watcher reads each watched launch's
version from the database every ``WATCH_INTERVAL_S`` and nudges the pages that are behind: so a
change made by another process reaches open pages even without a shared channel layer
(embedded mode: a CLI command beside ``make run``), and a nudge lost while Redis was away is
made good. It also sends a heartbeat, so a page can tell a quiet connection from a dead one.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict, defaultdict

from channels.db import database_sync_to_async

from .models import Launch
from .sections import Sections, render_and_share, shared_sections

log = logging.getLogger(__name__)
WATCH_INTERVAL_S = 0.5
HEARTBEAT_S = 15.0
RECHECK_S = 5.0  # a revoked share link, a removed role or a sign-out closes open pages
_pages: dict[int, set] = defaultdict(set)
_rendered: OrderedDict[int, Sections] = OrderedDict()
_locks: dict[int, asyncio.Lock] = defaultdict(asyncio.Lock)
_state = {"loop": None, "watcher": None}


def server_loop():
    """The event loop of this server process, once a page has connected (None elsewhere)."""
    return _state["loop"]


def register(page) -> None:
    _pages[page.launch_id].add(page)
    _ensure_watcher()


def unregister(page) -> None:
    _pages[page.launch_id].discard(page)
    if not _pages[page.launch_id]:
        _pages.pop(page.launch_id, None)


def _ensure_watcher() -> None:
    if _state["watcher"] is None or _state["watcher"].done():
        _state["loop"] = asyncio.get_running_loop()
        _state["watcher"] = asyncio.get_running_loop().create_task(_watch())


async def sections_for(launch_id: int, *, version: int = 0, after: float = 0.0) -> Sections:
    """The newest sections of a launch at ``version`` or later and rendered after ``after``:
    from this process's memory, else the shared cache, else rendered here. One render or fetch
    at a time per launch, however many pages wait for it."""
    async with _locks[launch_id]:
        found = _rendered.get(launch_id)
        if _fresh(found, version, after):
            return found
        found = await database_sync_to_async(shared_sections)(launch_id)
        if not _fresh(found, version, after):
            found = await database_sync_to_async(render_and_share)(launch_id)
        _rendered[launch_id] = found
        _rendered.move_to_end(launch_id)
        while len(_rendered) > 64:
            _rendered.popitem(last=False)
        return found


def _fresh(sections: Sections | None, version: int, after: float) -> bool:
    return sections is not None and sections.version >= version and sections.rendered_at >= after


@database_sync_to_async
def _versions(launch_ids) -> dict[int, int]:
    return dict(Launch.objects.filter(pk__in=launch_ids).values_list("pk", "version"))


async def _watch() -> None:
    last_beat = last_check = time.monotonic()
    while True:
        await asyncio.sleep(WATCH_INTERVAL_S)
        try:
            await _watch_once()
            if time.monotonic() - last_check >= RECHECK_S:
                last_check = time.monotonic()
                await _each_page("recheck")
            if time.monotonic() - last_beat >= HEARTBEAT_S:
                last_beat = time.monotonic()
                await _each_page("heartbeat")
        except asyncio.CancelledError:
            raise
        except Exception:  # a database hiccup must not end the watcher
            log.warning("the event-log watcher could not look", exc_info=True)


async def _each_page(method: str) -> None:
    for pages in list(_pages.values()):
        for page in list(pages):
            await getattr(page, method)()


async def _watch_once() -> None:
    if not _pages:
        return
    versions = await _versions(list(_pages))
    for launch_id, version in versions.items():
        behind = [p for p in _pages.get(launch_id, ()) if p.version < version]
        for page in behind:
            await page.push(version=version)


def reset() -> None:
    """Forget everything (tests: each test has its own event loop)."""
    if _state["watcher"] is not None:
        _state["watcher"].cancel()
    _state["watcher"] = _state["loop"] = None
    _pages.clear()
    _rendered.clear()
    _locks.clear()
