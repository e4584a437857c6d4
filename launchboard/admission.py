"""Bounded concurrency for the requests that reach Django.

Under ASGI, Django runs each request's sync code in a thread of its own and each thread that
queries holds a database connection until the request ends. A burst of 500 requests would be
500 threads asking a pool of 8 connections, and most would fail with PoolTimeout: the seed's
own failure (a pool that runs dry). Here at most ``limit`` requests are in Django at once per
process; the rest wait their turn in a queue of at most ``queue`` requests, for at most
``wait_s`` seconds, and past that are answered 503 with Retry-After. Uploads, which may hold
their slot for minutes while a large file streams in, have a lane of their own, so they never
keep readers and clickers waiting.

The pool is sized to what is admitted: slots + upload slots + 2 (the thread of every
WebSocket page, and the hub's own) <= DATABASE_POOL_MAX (launchboard/settings.py).
"""

from __future__ import annotations

import asyncio
import logging
import time

import orjson

log = logging.getLogger(__name__)
UPLOAD_SUFFIXES = ("/runs/", "/runs/upload/")


class Lane:
    """A number of slots and a bounded, first-come queue in front of them."""

    def __init__(self, name: str, slots: int, queue: int, wait_s: float):
        self.name, self.slots, self.queue, self.wait_s = name, slots, queue, wait_s
        self.busy = 0
        self.waiting = 0
        self.refused = 0
        self._free: asyncio.Condition | None = None

    async def enter(self) -> bool:
        """Take a slot; False if the queue is full or the wait ran out."""
        if self._free is None:
            self._free = asyncio.Condition()
        if self.busy < self.slots and not self.waiting:
            self.busy += 1
            return True
        if self.waiting >= self.queue:
            return False
        self.waiting += 1
        deadline = time.monotonic() + self.wait_s
        try:
            async with self._free:
                while self.busy >= self.slots:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        return False
                    try:
                        await asyncio.wait_for(self._free.wait(), left)
                    except TimeoutError:
                        return False
                self.busy += 1
                return True
        finally:
            self.waiting -= 1

    async def leave(self) -> None:
        self.busy -= 1
        if self.waiting:
            async with self._free:
                self._free.notify(1)


class Admission:
    """ASGI middleware in front of Django's HTTP handler (launchboard/asgi.py)."""

    def __init__(self, app, *, slots: int, upload_slots: int, queue: int, wait_s: float):
        self.app = app
        self.lanes = {
            "default": Lane("default", slots, queue, wait_s),
            "upload": Lane("upload", upload_slots, queue, wait_s),
        }

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        upload = scope["method"] == "POST" and scope["path"].endswith(UPLOAD_SUFFIXES)
        lane = self.lanes["upload" if upload else "default"]
        if not await lane.enter():
            lane.refused += 1
            log.warning(
                "busy: %s lane full (%d in Django, %d waiting); answered 503 to %s",
                lane.name,
                lane.busy,
                lane.waiting,
                scope["path"],
            )
            await _busy(scope, send, lane)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            await lane.leave()


async def _busy(scope, send, lane: Lane) -> None:
    retry = str(max(1, round(lane.wait_s / 4)))
    message = "Launchboard is busy; try again in a few seconds."
    wants_json = scope["path"].startswith("/api/") or any(
        name == b"accept" and b"json" in value for name, value in scope.get("headers", [])
    )
    if wants_json:
        body, kind = (
            orjson.dumps({"error": message, "retry_after": int(retry)}),
            b"application/json",
        )
    else:
        body, kind = f"<!doctype html><title>Busy</title><p>{message}</p>".encode(), b"text/html"
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [
                (b"content-type", kind),
                (b"retry-after", retry.encode()),
                (b"content-length", str(len(body)).encode()),
                (b"cache-control", b"no-store"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
