"""The real-time hub of one server process: its open pages per launch, the sections it has
rendered or fetched, its one member of each launch's channel-layer group, and a watcher of the
Event log.

One member per process, not one per page: a change is one channel-layer message per server
process, which then pushes to its own pages (a group of 500 pages would be 500 Redis messages,
each with Channels' per-message overhead). The channel layer is a nudge, not the source of
truth. The watcher reads each watched launch's
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
from channels.layers import get_channel_layer

from .access import access_generation
from .broadcast import group_name
from .models import Launch
from .sections import Sections, render_and_share, shared_sections

log = logging.getLogger(__name__)
WATCH_INTERVAL_S = 0.5
HEARTBEAT_S = 15.0
# A revoked share link, a removed role, a sign-out or a disabled account closes open pages of a
# private launch: on the watcher's next look when announced (access.access_changed), else (a
# change made behind Launchboard's back, an expired session) on this periodic recheck.
RECHECK_S = 5.0
_pages: dict[int, set] = defaultdict(set)
_rendered: OrderedDict[int, Sections] = OrderedDict()
_locks: dict[int, asyncio.Lock] = defaultdict(asyncio.Lock)
_state = {"loop": None, "watcher": None, "listener": None, "channel": None}
_members: set[int] = set()  # launches whose group this process's channel has joined
_background: set[asyncio.Task] = set()
_seen: dict[int, int] = {}  # the version of each launch at the watcher's previous look
REJOIN_S = 3600.0  # group memberships expire (channels_redis group_expiry); renew them hourly


def server_loop():
    """The event loop of this server process, once a page has connected (None elsewhere)."""
    return _state["loop"]


def register(page) -> None:
    _pages[page.launch_id].add(page)
    _ensure_watcher()
    _ensure_listener()


def unregister(page) -> None:
    _pages[page.launch_id].discard(page)
    if not _pages[page.launch_id]:
        _pages.pop(page.launch_id, None)


def _ensure_watcher() -> None:
    if _state["watcher"] is None or _state["watcher"].done():
        _state["loop"] = asyncio.get_running_loop()
        _state["watcher"] = asyncio.get_running_loop().create_task(_watch())


def _ensure_listener() -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    loop = asyncio.get_running_loop()
    if _state["listener"] is None or _state["listener"].done():
        _state["listener"] = loop.create_task(_listen(layer))
    if _members.issuperset(_pages):
        return  # every launch with pages here is joined already (the usual page connect)
    task = loop.create_task(_join_groups(layer))
    _background.add(task)  # keep a reference until it is done
    task.add_done_callback(_background.discard)


# --- the process's member of each launch's group --------------------------------------------------
async def _channel(layer) -> str:
    if _state["channel"] is None:
        _state["channel"] = await layer.new_channel("launchboard.hub.")
    return _state["channel"]


async def _join_groups(layer) -> None:
    """Join the group of every launch this process has pages for (once each)."""
    try:
        channel = await _channel(layer)
        for launch_id in list(_pages):
            if launch_id not in _members:
                await layer.group_add(group_name(launch_id), channel)
                _members.add(launch_id)
    except Exception:  # the listener retries; the watcher covers the pages meanwhile
        log.warning("could not join the launch groups", exc_info=True)


async def _listen(layer) -> None:
    """Receive this process's nudges and push them to its pages. If the layer fails (Redis
    away), rejoin once it answers again; meanwhile the watcher keeps the pages current."""
    attempt, joined_at = 0, time.monotonic()
    while True:
        try:
            if time.monotonic() - joined_at > REJOIN_S:  # memberships expire in Redis
                _members.clear()
                joined_at = time.monotonic()
                await _join_groups(layer)
            message = await layer.receive(await _channel(layer))
            attempt = 0
            await _deliver(message)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.warning("channel layer unavailable; pages follow the event log", exc_info=True)
            _members.clear()
            await asyncio.sleep(min(10.0, 0.5 * 2**attempt))
            attempt += 1
            await _join_groups(layer)


async def _deliver(message: dict) -> None:
    pages = list(_pages.get(message.get("launch"), ()))
    kind = message.get("type")
    for page in pages:
        if kind == "launch.changed":
            await page.push(version=message["version"])
        elif kind == "launch.live":
            await page.push(version=page.version, after=message["rendered_at"])
        elif kind == "ingest.progress":
            await page.progress(message)


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
def _look(launch_ids) -> tuple[dict[int, int], object]:
    """The version of each launch, and the access generation (one thread hop for both)."""
    versions = dict(Launch.objects.filter(pk__in=launch_ids).values_list("pk", "version"))
    return versions, access_generation()


@database_sync_to_async
def _private(launch_ids) -> set[int]:
    return set(
        Launch.objects.filter(pk__in=launch_ids)
        .exclude(visibility=Launch.Visibility.PUBLIC)
        .values_list("pk", flat=True)
    )


async def _recheck() -> None:
    """Pages of a public launch may all read it; only a private launch's pages are checked,
    each against its viewer's current rights."""
    private = await _private(list(_pages))
    for launch_id in private:
        for page in list(_pages.get(launch_id, ())):
            await page.recheck()


async def _watch() -> None:
    last_beat = last_check = time.monotonic()
    while True:
        await asyncio.sleep(WATCH_INTERVAL_S)
        try:
            access_changed = await _watch_once()
            if access_changed or time.monotonic() - last_check >= RECHECK_S:
                last_check = time.monotonic()
                await _recheck()
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


async def _watch_once() -> bool:
    """Catch up pages still behind a version seen on the previous look: the nudge had its
    chance (a fan-out in progress is left alone) and did not come, because the change was made
    in another process without a shared layer, or the layer lost it. True if someone's access
    changed since the previous look (or this is the first look)."""
    if not _pages:
        return False
    versions, generation = await _look(list(_pages))
    access_changed = "access" not in _state or generation != _state["access"]
    _state["access"] = generation
    for launch_id, version in versions.items():
        seen = _seen.get(launch_id, 0)
        _seen[launch_id] = version
        behind = [p for p in _pages.get(launch_id, ()) if p.version < min(seen, version)]
        if behind and launch_id in _members:
            # The layer may have forgotten the group (Redis restarted): join it again.
            _members.discard(launch_id)
            _ensure_listener()
        for page in behind:
            await page.push(version=version)
    return access_changed


async def stop() -> None:
    """Cancel this process's hub tasks and wait for them (a server shutting down; tests)."""
    tasks = [t for t in (_state["watcher"], _state["listener"], *_background) if t is not None]
    for task in tasks:
        task.cancel()
    if tasks:  # a channel-layer receive may take its time to unwind; do not wait for ever
        await asyncio.wait(tasks, timeout=2)
    reset()


def reset() -> None:
    """Forget everything (tests: each test has its own event loop)."""
    for task in ("watcher", "listener"):
        if _state[task] is not None:
            _state[task].cancel()
    _state.update(watcher=None, loop=None, listener=None, channel=None)
    _state.pop("access", None)
    _members.clear()
    _seen.clear()
    _pages.clear()
    _rendered.clear()
    _locks.clear()
