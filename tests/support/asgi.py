"""Drive the real ASGI application (launchboard.asgi) with plain HTTP requests, in-process:
what fastreads answers never reaches Django's test client, so tests call the app itself."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from django.db.backends.utils import CursorWrapper


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self):
        import orjson

        return orjson.loads(self.body)


async def request(
    app, path: str, *, method: str = "GET", query: bytes = b"", headers=(), body: bytes = b""
) -> Answer:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1:8000"), *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    sent: list[dict] = []
    received = False

    async def receive():
        nonlocal received
        if received:
            await asyncio.sleep(3600)  # nothing more: the client waits for the answer
        received = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message):
        sent.append(message)

    await app(scope, receive, send)
    start = sent[0]
    headers_out = {k.decode().lower(): v.decode() for k, v in start["headers"]}
    return Answer(start["status"], headers_out, b"".join(m.get("body", b"") for m in sent[1:]))


class QueryCounter:
    """Counts SQL statements run in any thread (Django's own capture sees one connection)."""

    def __init__(self, monkeypatch):
        self.count = 0
        original = CursorWrapper._execute

        def counted(cursor, *args, **kwargs):
            self.count += 1
            return original(cursor, *args, **kwargs)

        monkeypatch.setattr(CursorWrapper, "_execute", counted)
