"""WebSocket consumer for a launch's open pages: joins the launch's group and relays changes."""

from __future__ import annotations

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from .broadcast import group_name
from .models import Launch


class LaunchConsumer(AsyncJsonWebsocketConsumer):
    group = None
    version = 0

    async def connect(self):
        slug = self.scope["url_route"]["kwargs"]["slug"]
        launch = await self._launch(slug)
        if launch is None:
            await self.close()
            return
        self.group = group_name(launch.pk)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        self.version = launch.version
        await self.send_json({"type": "hello", "version": launch.version})

    async def disconnect(self, code):
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def launch_changed(self, message):
        self.version = max(self.version, message["version"])
        await self.send_json(
            {"type": "changed", "version": message["version"], "kind": message["kind"]}
        )

    async def live_updated(self, message):
        await self.send_json({"type": "live", "version": self.version})

    async def ingest_progress(self, message):
        payload = {k: v for k, v in message.items() if k != "type"}
        await self.send_json({"type": "progress", "version": self.version, **payload})

    @database_sync_to_async
    def _launch(self, slug):
        return Launch.objects.filter(slug=slug).only("id", "version").first()
