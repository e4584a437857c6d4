"""What-if variants of the web process for bench/realtime_bench.py `--whatif`: the product's ASGI
application with `LaunchConsumer` patched in memory, to measure what a change to the product
would buy before anyone makes it. Never imported by the product; it changes no file.

    LB_WHATIF=hub,encode,dispatch,sockettimeout python -m uvicorn realtime_whatif:application
    (cwd = the repository, PYTHONPATH=bench)

Variants (comma-separated in LB_WHATIF):
  dispatch       skip Channels' per-message `aclose_old_connections()` thread hop in
                 `AsyncConsumer.dispatch` (the handlers that touch the database already go
                 through `database_sync_to_async`, which closes old connections itself)
  encode         encode each update's JSON once per (version, changed sections) and send that
                 text to every page in the same state, instead of `send_json` per page
  hub            one channel-layer member per process and launch instead of one per page: the
                 nudge is received once and the process pushes to its own pages (realtime._pages)
  sockettimeout  `socket_timeout: 30` for the channel layer's Redis connections (redis-py 8
                 defaults to 5 s, the same as channels_redis's BZPOPMIN timeout)
"""

from __future__ import annotations

import asyncio
import json
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "launchboard.settings")

import django

django.setup()

from channels.consumer import get_handler_name  # noqa: E402
from channels.layers import get_channel_layer  # noqa: E402
from django.conf import settings  # noqa: E402

from checklists.realtime import consumers  # noqa: E402
from checklists.realtime import hub as realtime  # noqa: E402
from checklists.realtime.hub import group_name  # noqa: E402

VARIANTS = {v.strip() for v in os.environ.get("LB_WHATIF", "").split(",") if v.strip()}
KNOWN = {"dispatch", "encode", "hub", "sockettimeout"}
if VARIANTS - KNOWN:
    raise SystemExit(f"unknown LB_WHATIF variants: {sorted(VARIANTS - KNOWN)}")


# --- dispatch ----------------------------------------------------------------------------------
async def dispatch(self, message):
    handler = getattr(self, get_handler_name(message), None)
    if handler is None:
        raise ValueError(f"No handler for message type {message['type']}")
    await handler(message)


# --- encode ------------------------------------------------------------------------------------
_texts: dict[tuple, str] = {}


async def send_sections_once(self, sections, snapshot: bool):
    changed = tuple(n for n in sections.html if self.digests.get(n) != sections.digests[n])
    self.digests.update(sections.digests)
    self.version = max(self.version, sections.version)
    self.sent_at = max(self.sent_at, sections.rendered_at)
    key = (sections.launch_id, sections.version, sections.rendered_at, snapshot, changed)
    text = _texts.get(key)
    if text is None:
        if len(_texts) > 256:
            _texts.clear()
        message = {"type": "snapshot" if snapshot else "update", "version": sections.version}
        message |= {"verdict": sections.verdict}
        message["sections"] = {name: sections.html[name] for name in changed}
        text = _texts[key] = json.dumps(message)
    await self.send(text_data=text)


# --- hub ---------------------------------------------------------------------------------------
_hubs: dict[int, asyncio.Task | None] = {}


async def _listen(layer, channel: str, launch_id: int) -> None:
    while True:
        message = await layer.receive(channel)
        for page in list(realtime._pages.get(launch_id, ())):
            if message["type"] == "launch.changed":
                await page.push(version=message["version"])
            elif message["type"] == "launch.live":
                await page.push(version=page.version, after=message["rendered_at"])
            elif message["type"] == "ingest.progress":
                await page.ingest_progress(message)


async def _ensure_hub(launch_id: int) -> None:
    if launch_id in _hubs:
        return
    _hubs[launch_id] = None
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add(group_name(launch_id), channel)
    _hubs[launch_id] = asyncio.get_running_loop().create_task(_listen(layer, channel, launch_id))


async def connect_to_hub(self):
    """The product's connect, with the process hub in place of the page's own group_add."""
    self.version, self.wanted, self.sent_at, self.pushing = 0, 0, 0.0, False
    self.digests = {}
    launch = await self._readable_launch(self.scope["url_route"]["kwargs"]["slug"])
    if launch is None:
        await self.close()
        return
    self.launch_id, self.group = launch.pk, None
    await _ensure_hub(launch.pk)
    await self.accept()
    realtime.register(self)
    await self.push(version=launch.version, snapshot=True)


# --- apply -------------------------------------------------------------------------------------
if "dispatch" in VARIANTS:
    consumers.LaunchConsumer.dispatch = dispatch
if "encode" in VARIANTS:
    consumers.LaunchConsumer._send_sections = send_sections_once
if "hub" in VARIANTS:
    consumers.LaunchConsumer.connect = connect_to_hub
if "sockettimeout" in VARIANTS:
    for host in settings.CHANNEL_LAYERS["default"]["CONFIG"].get("hosts", []):
        host["socket_timeout"] = 30

from launchboard.asgi import application  # noqa: E402

__all__ = ["application"]
