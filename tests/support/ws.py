"""A page-like WebSocket client for tests and benchmarks: follows a launch, remembers the
newest version it was told about, reconnects with jittered backoff as board.js does."""

from __future__ import annotations

import asyncio
import json
import random
import time

import websockets


class LiveClient:
    def __init__(self, base_url: str, slug: str = "whatsapp-saas"):
        self.url = base_url.replace("http://", "ws://") + f"/ws/launches/{slug}/"
        self.origin = base_url
        self.version = -1
        self.connected = False
        self.connects = 0
        self.last_error = ""
        self.received: list[tuple[int, float]] = []  # (version, receipt time)
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        attempt = 0
        while True:
            try:
                async with websockets.connect(
                    self.url, origin=self.origin, compression=None, open_timeout=5
                ) as ws:
                    self.connected, attempt = True, 0
                    self.connects += 1
                    async for raw in ws:
                        message = json.loads(raw)
                        if "version" in message and message["version"] > self.version:
                            self.version = message["version"]
                            self.received.append((self.version, time.time()))
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # refused or dropped: try again, as a page would
                self.last_error = repr(exc)
            self.connected = False
            await asyncio.sleep(0.25 + random.random() * min(2.0, 0.25 * 2**attempt))
            attempt += 1


async def wait_until(predicate, timeout: float, step: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        await asyncio.sleep(step)
    return predicate()
