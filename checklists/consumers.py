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

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from . import realtime
from .access import can_user_read
from .models import Launch

log = logging.getLogger(__name__)
_encoded: dict[tuple, str] = {}  # one JSON text per update, shared by every page it fits


class LaunchConsumer(AsyncJsonWebsocketConsumer):
    launch_id = None
    channel_layer_alias = "no layer: the process hub receives for its pages"

    async def connect(self):
        self.version, self.wanted, self.sent_at, self.pushing = 0, 0, 0.0, False
        self.digests: dict[str, str] = {}
        launch = await self._readable_launch(self.scope["url_route"]["kwargs"]["slug"])
        if launch is None:
            await self.close()  # before accept: the handshake is refused (HTTP 403)
            return
        self.launch_id = launch.pk
        await self.accept()
        realtime.register(self)
        await self.push(version=launch.version, snapshot=True)

    async def disconnect(self, code):
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

    async def receive_json(self, content, **kwargs):
        if content.get("type") == "resync":  # the page saw a gap: send it everything again
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
        from django.contrib.auth import get_user_model
        from django.contrib.auth.models import AnonymousUser
        from django.contrib.sessions.backends.db import SessionStore

        session = self.scope.get("session")
        fresh = SessionStore(session.session_key) if session and session.session_key else None
        data = fresh.load() if fresh is not None else {}
        user_id = data.get("_auth_user_id")
        user = (
            get_user_model().objects.filter(pk=user_id, is_active=True).first()
            if (user_id)
            else None
        )
        was_signed_in = self.scope["user"].is_authenticated
        if was_signed_in and (user is None or user.pk != self.scope["user"].pk):
            return False  # signed out (or the session now belongs to someone else)
        launch = Launch.objects.filter(pk=self.launch_id).first()
        return launch is not None and can_user_read(
            user or AnonymousUser(), launch, fresh if fresh is not None else None
        )

    # --- sending ---
    async def heartbeat(self):
        await self.send_json({"type": "heartbeat", "version": self.version})

    async def push(self, *, version: int, after: float = 0.0, snapshot: bool = False):
        """Send what changed up to ``version`` (and rendered after ``after``)."""
        self.wanted = max(self.wanted, version)
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
        changed = tuple(n for n in sections.html if self.digests.get(n) != sections.digests[n])
        self.digests.update(sections.digests)
        self.version = max(self.version, sections.version)
        self.sent_at = max(self.sent_at, sections.rendered_at)
        await self.send(text_data=encoded(sections, changed, snapshot))

    @database_sync_to_async
    def _readable_launch(self, slug):
        launch = Launch.objects.filter(slug=slug).only("id", "version", "visibility").first()
        if launch is None or not can_user_read(
            self.scope["user"], launch, self.scope.get("session")
        ):
            return None
        return launch


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
                "sections": {name: sections.html[name] for name in changed},
            }
        )
    return text
