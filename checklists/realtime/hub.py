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

The hub also keeps the process's directory of launches (slug, version, visibility), read from
the database on each look and moved on by every nudge, so fastreads can answer a reader from
the current rendering without a query per request.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from channels.db import DatabaseSyncToAsync
from channels.layers import get_channel_layer

from checklists.board import sections
from checklists.board.sections import Sections
from checklists.core.access import access_generation
from checklists.models import Launch

log = logging.getLogger(__name__)


def group_name(launch_id: int) -> str:
    """The channel-layer group of a launch's open pages (every process joins it)."""
    return f"launch.{launch_id}"


WATCH_INTERVAL_S = 0.5
HEARTBEAT_S = 15.0
# A revoked share link, a removed role, a sign-out or a disabled account closes open pages of a
# private launch: on the watcher's next look when announced (access.access_changed), else (a
# change made behind Launchboard's back, an expired session) on this periodic recheck.
RECHECK_S = 5.0
_pages: dict[int, set] = defaultdict(set)
_locks: dict[object, asyncio.Lock] = defaultdict(asyncio.Lock)  # per launch id, and 'directory'
_state = {"loop": None, "watcher": None, "listener": None, "channel": None}
_members: set[int] = set()  # launches whose group this process's channel has joined
_background: set[asyncio.Task] = set()
_seen: dict[int, int] = {}  # the version of each launch at the watcher's previous look
_read: set[int] = set()  # launches this process has answered readers of (fastreads)


@dataclass(frozen=True)
class Known:
    """A launch as this process last saw it in the database."""

    id: int
    slug: str
    name: str
    version: int
    public: bool

    def get_absolute_url(self) -> str:
        return f"/launches/{self.slug}/"


# The hub's own reads (the directory, a rendering to fetch) run in a thread of their own, not in
# the one thread where every page's database work queues: a reader must never wait behind 400
# pages connecting at once. One thread: one database connection (settings.py counts it).
_hub_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="launchboard-hub")


def in_hub_thread(fn):
    return DatabaseSyncToAsync(fn, thread_sensitive=False, executor=_hub_thread)


_directory: dict[str, Known] = {}  # slug -> launch, every launch, refreshed on each look
# launch id -> (version, rendered after): the rendering this process should serve at least,
# moved on by nudges and looks before the rendering itself is fetched
_wanted: dict[int, tuple[int, float]] = {}
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
    if _members.issuperset(_pages) and _members.issuperset(_read):
        return  # every launch with pages or readers here is joined already (the usual case)
    task = loop.create_task(_join_groups(layer))
    _background.add(task)  # keep a reference until it is done
    task.add_done_callback(_background.discard)


# --- the process's member of each launch's group --------------------------------------------------
async def _channel(layer) -> str:
    if _state["channel"] is None:
        _state["channel"] = await layer.new_channel("launchboard.hub.")
    return _state["channel"]


async def _join_groups(layer) -> None:
    """Join the group of every launch this process has pages or readers for (once each)."""
    try:
        channel = await _channel(layer)
        for launch_id in [*_pages, *_read]:
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
    launch_id = message.get("launch")
    pages = list(_pages.get(launch_id, ()))
    kind = message.get("type")
    if kind == "launch.changed":
        _want(launch_id, message["version"])
        await _fan_out(pages, "push", version=message["version"])
    elif kind == "launch.live":
        _want(launch_id, 0, message["rendered_at"])
        await _fan_out(pages, "push", after=message["rendered_at"])
    elif kind == "ingest.progress":
        await _fan_out(pages, "progress", message)


async def _fan_out(pages, method: str, *args, **kwargs) -> None:
    """Call ``method`` on every page at once: a page whose reader is slow (its socket buffer
    full) holds up only itself, and one that has gone away is forgotten, never an error for
    the others."""
    if not pages:
        return
    results = await asyncio.gather(
        *(getattr(page, method)(*args, **kwargs) for page in pages), return_exceptions=True
    )
    for page, result in zip(pages, results, strict=True):
        if isinstance(result, Exception):
            log.info("dropping a page that failed a %s: %r", method, result)
            unregister(page)


async def sections_for(launch_id: int, *, version: int = 0, after: float = 0.0) -> Sections:
    """The newest sections of a launch at ``version`` or later and rendered after ``after``:
    from this process's memory, else the shared cache, else rendered here. One render or fetch
    at a time per launch, however many pages wait for it."""
    found = sections.latest(launch_id)
    if found is not None and found.fresh(version, after):
        return found
    async with _locks[launch_id]:
        return await in_hub_thread(sections.current)(launch_id, version=version, after=after)


# --- the directory, for readers ------------------------------------------------------------------
async def look_once() -> None:
    """Make sure the directory has been read (once; the watcher keeps it current after)."""
    _ensure_watcher()
    if "looked_at" not in _state:
        async with _locks["directory"]:
            if "looked_at" not in _state:
                rows, _, _ = await _look([])
                _learn(rows)


async def known(slug: str) -> Known | None:
    """The launch ``slug`` as of this process's last look."""
    await look_once()
    return _directory.get(slug)


def launches() -> list[Known]:
    """Every launch as of the last look, by name (empty before the first)."""
    return sorted(_directory.values(), key=lambda k: (k.name, k.slug))


async def rendering(launch: Known) -> Sections:
    """The rendering a reader of ``launch`` gets now; joins the launch's group so the next
    change reaches this process at once."""
    if launch.id not in _read:
        _read.add(launch.id)
        _ensure_listener()
    version, after = _wanted.get(launch.id, (launch.version, 0.0))
    return await sections_for(launch.id, version=max(version, launch.version), after=after)


def _want(launch_id: int, version: int, after: float = 0.0) -> None:
    held = _wanted.get(launch_id, (0, 0.0))
    _wanted[launch_id] = (max(held[0], version), max(held[1], after))


def _learn(rows) -> None:
    """Replace the directory with what the database says now."""
    _directory.clear()
    for pk, slug, name, version, visibility in rows:
        _directory[slug] = Known(pk, slug, name, version, visibility == Launch.Visibility.PUBLIC)
        _want(pk, version)
    _state["looked_at"] = time.monotonic()


def _look(launch_ids):
    return in_hub_thread(_look_now)(launch_ids)


def _look_now(launch_ids):
    """Every launch's slug, name, version and visibility, the access generation and the stamps
    of the shared renderings of ``launch_ids`` (one thread hop for all three)."""
    rows = list(Launch.objects.values_list("pk", "slug", "name", "version", "visibility"))
    return rows, access_generation(), sections.shared_stamps(launch_ids) if launch_ids else {}


async def _recheck() -> None:
    """Pages of a public launch may all read it; only a private launch's pages are checked,
    each against its viewer's current rights."""
    public = {k.id for k in _directory.values() if k.public}
    for launch_id in [i for i in _pages if i not in public]:
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
        await _fan_out(list(pages), method)


async def _watch_once() -> bool:
    """Learn every launch's version, and catch up pages still behind a version seen on the
    previous look: the nudge had its chance (a fan-out in progress is left alone) and did not
    come, because the change was made in another process without a shared layer, or the layer
    lost it. A newer shared rendering of the same version (a redraw for live data made
    elsewhere) is pushed too. True if someone's access changed since the previous look (or
    this is the first look)."""
    if not _pages and "looked_at" not in _state:
        return False
    watched = set(_pages) | _read
    rows, generation, stamps = await _look(sorted(watched))
    _learn(rows)
    access_changed = "access" not in _state or generation != _state["access"]
    _state["access"] = generation
    versions = {row[0]: row[3] for row in rows}
    for launch_id in watched:
        version = versions.get(launch_id)
        if version is None:
            continue
        stamp_version, stamp_at = stamps.get(launch_id, (0, 0.0))
        held = sections.latest(launch_id)
        redrawn = held is not None and stamp_version >= held.version and stamp_at > held.rendered_at
        if redrawn:
            _want(launch_id, stamp_version, stamp_at)
        seen = _seen.get(launch_id, 0)
        _seen[launch_id] = version
        pages = _pages.get(launch_id, ())
        behind = [p for p in pages if p.version < min(seen, version)]
        if behind and launch_id in _members:
            # The layer may have forgotten the group (Redis restarted): join it again.
            _members.discard(launch_id)
            _ensure_listener()
        await _fan_out(behind, "push", version=version)
        if redrawn:
            await _fan_out(list(pages), "push", after=stamp_at)
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
    _read.clear()
    _directory.clear()
    _wanted.clear()
    _locks.clear()
    _state.pop("looked_at", None)
    sections.forget()
