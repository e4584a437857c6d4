"""WebSocket consumer for a launch's open pages.

Thin: checks that the viewer may read the launch, registers with its process's hub (which holds
the process's one member of the launch's channel-layer group, see realtime.py), sends a
snapshot of every section, then sends each page only the sections that changed for it. Updates
coalesce: a page that is still being sent version 7 when 8 and 9 arrive gets 9 next. A page has
no channel of its own, so it stays connected (and current, through the Event-log watcher) while
the channel layer is away.
"""

from __future__ import annotations

import json
import logging
import time
from types import SimpleNamespace

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.contrib.auth import get_user
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.backends.db import SessionStore

from checklists.core.access import can_user_read
from checklists.models import Launch
from checklists.realtime import hub as realtime

log = logging.getLogger(__name__)
MAX_CLIENT_MESSAGE = 1024  # bytes; a page sends {"type": "resync"} and nothing else
MAX_CLIENT_MESSAGES_PER_S = 10
_encoded: dict[tuple, str] = {}  # one JSON text per update, shared by every page it fits


class LaunchConsumer(AsyncJsonWebsocketConsumer):
    launch_id = None
    channel_layer_alias = "no layer: the process hub receives for its pages"
    closed = False  # by us or by the client: nothing more is sent, nothing more is read

    async def close(self, code=None, reason=None):
        """Once. A flood keeps arriving after we closed; a second close, or a send, after the
        first is a RuntimeError in the server (and a traceback per page in its log)."""
        if self.closed:
            return
        self.closed = True
        await super().close(code=code, reason=reason)

    async def send(self, text_data=None, bytes_data=None, close=False):
        if self.closed:
            return
        await super().send(text_data=text_data, bytes_data=bytes_data, close=close)

    async def connect(self):
        self.version, self.wanted, self.sent_at, self.pushing = 0, 0, 0.0, False
        self.window_start, self.window_count, self.resynced_at = 0.0, 0, -1.0
        self.digests: dict[str, str] = {}
        self.shown = _shown(self.scope.get("query_string", b""))
        launch_id, version = await self._readable(self.scope["url_route"]["kwargs"]["slug"])
        if launch_id is None:
            await self.close()  # before accept: the handshake is refused (HTTP 403)
            return
        self.launch_id = launch_id
        await self.accept()
        realtime.register(self)
        await self.push(version=version, snapshot=True)

    async def disconnect(self, code):
        self.closed = True
        if self.launch_id is not None:
            realtime.unregister(self)

    async def dispatch(self, message):
        """Channels closes old database connections (a thread hop) before every message; this
        consumer touches the database only through database_sync_to_async, which does that
        itself, so skip it: it was a third of the server's work at 500 pages."""
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        """A page only ever asks for a resync; anything else, too big or too often, is a
        misbehaving client: close it rather than let it make the server work (S6)."""
        if self.closed:
            return  # what was in flight when we closed it
        now = time.monotonic()
        if now - self.window_start >= 1.0:
            self.window_start, self.window_count = now, 0
        self.window_count += 1
        try:
            content = json.loads(text_data) if text_data is not None else None
        except ValueError:
            content = None
        if (
            not isinstance(content, dict)
            or len(text_data) > MAX_CLIENT_MESSAGE
            or self.window_count > MAX_CLIENT_MESSAGES_PER_S
        ):
            log.info(
                "closing a page that sent a bad or excessive message (launch %s)", self.launch_id
            )
            realtime.unregister(self)
            await self.close(code=1008)  # policy violation
            return
        await self.receive_json(content)

    async def receive_json(self, content, **kwargs):
        if content.get("type") == "resync":  # the page saw a gap: send it everything again
            if time.monotonic() - self.resynced_at < 1.0:
                return  # it had everything a moment ago; updates follow by themselves
            self.resynced_at = time.monotonic()
            self.digests.clear()
            await self.push(version=self.version, snapshot=True)

    # --- what the process hub brings ---
    async def progress(self, message):
        payload = {k: v for k, v in message.items() if k not in ("type", "launch")}
        await self.send_json({"type": "progress", "version": self.version, **payload})

    async def recheck(self):
        """Close the page if its viewer may no longer read the launch."""
        if not await self._still_allowed():
            realtime.unregister(self)
            await self.close(code=4403)

    @database_sync_to_async
    def _still_allowed(self) -> bool:
        session = self.scope.get("session")
        fresh = SessionStore(session.session_key) if session and session.session_key else None
        # Django's own check: the session's user, active, with an unchanged password hash.
        # Read-only: the page must not rotate or flush a session its browser still holds.
        user = (
            get_user(SimpleNamespace(session=_ReadOnlySession(fresh)))
            if fresh is not None
            else AnonymousUser()
        )
        was_signed_in = self.scope["user"].is_authenticated
        if was_signed_in and (not user.is_authenticated or user.pk != self.scope["user"].pk):
            return False  # signed out, disabled, password changed, or someone else's session
        launch = Launch.objects.filter(pk=self.launch_id).first()
        return launch is not None and can_user_read(user, launch, fresh)

    # --- sending ---
    async def heartbeat(self):
        await self.send_json({"type": "heartbeat", "version": self.version})

    async def push(self, *, version: int = 0, after: float = 0.0, snapshot: bool = False):
        """Send what changed up to ``version`` (and rendered after ``after``)."""
        self.wanted = max(self.wanted, version, self.version)
        if self.pushing:
            return  # the running push picks up the newest wanted version
        self.pushing = True
        try:
            while snapshot or self.wanted > self.version or after > self.sent_at:
                target = self.wanted
                sections = await realtime.sections_for(self.launch_id, version=target, after=after)
                await self._send_sections(sections, snapshot)
                snapshot, after = False, 0.0
                if sections.version < target:  # nothing newer exists yet; the watcher retries
                    self.wanted = self.version
                    break
        finally:
            self.pushing = False

    async def _send_sections(self, sections, snapshot: bool):
        if snapshot and self.shown and self.shown == sections.content:
            # The page was loaded with exactly these sections: tell it it is current.
            self.shown, snapshot = "", False
            self.digests = dict(sections.digests)
        changed = tuple(n for n in sections.html if self.digests.get(n) != sections.digests[n])
        self.digests.update(sections.digests)
        self.version = max(self.version, sections.version)
        self.sent_at = max(self.sent_at, sections.rendered_at)
        await self.send(text_data=encoded(sections, changed, snapshot))

    async def _readable(self, slug) -> tuple[int | None, int]:
        """(launch id, version) if this viewer may read the launch. Anyone may read a public
        one: the hub's directory says so without a query, so a room of pages opening at once
        does not queue on the database."""
        known = await realtime.known(slug)
        if known is not None and known.public:
            return known.id, known.version
        launch = await self._readable_launch(slug)
        return (launch.pk, launch.version) if launch is not None else (None, 0)

    @database_sync_to_async
    def _readable_launch(self, slug):
        launch = Launch.objects.filter(slug=slug).only("id", "version", "visibility").first()
        if launch is None or not can_user_read(
            self.scope["user"], launch, self.scope.get("session")
        ):
            return None
        return launch


class _ReadOnlySession:
    """A session for django.contrib.auth.get_user that reads but never writes."""

    def __init__(self, store):
        self._store = store

    def __getitem__(self, key):
        return self._store[key]

    def get(self, key, default=None):
        return self._store.get(key, default)

    def __setitem__(self, key, value):
        pass

    def cycle_key(self):
        pass

    def flush(self):
        pass


def _shown(query: bytes) -> str:
    """The content id of the sections the page shows (``?content=...``), if it says."""
    for part in query.split(b"&"):
        name, _, value = part.partition(b"=")
        if name == b"content" and 0 < len(value) <= 64 and value.isalnum():
            return value.decode()
    return ""


def encoded(sections, changed: tuple, snapshot: bool) -> str:
    """The JSON of an update, encoded once for every page that needs the same sections."""
    key = (sections.launch_id, sections.version, sections.rendered_at, changed, snapshot)
    text = _encoded.get(key)
    if text is None:
        if len(_encoded) > 256:
            _encoded.clear()
        text = _encoded[key] = json.dumps(
            {
                "type": "snapshot" if snapshot else "update",
                "version": sections.version,
                "verdict": sections.verdict,
                # when the change was made (epoch s): a page can tell how fresh it is
                "changed_at": sections.changed_at,
                "content": sections.content,
                "sections": {name: sections.html[name] for name in changed},
            }
        )
    return text
