"""ASGI guard for request bodies, on every path: a body over its limit is answered 413 before
anything behind this layer spools it.

Two limits: result uploads (the API's and the page form's) may be as large as
UPLOAD_MAX_BYTES plus room for the multipart framing; anything else (sign-in, forms, JSON)
FORM_MAX_BYTES. A declared Content-Length over the limit is refused without reading a byte; a
chunked body (no length) is counted as it arrives and refused at the limit: the application
behind is told the client went away (so Django drops what it spooled and answers nothing) and
the client gets the 413.
"""

from __future__ import annotations

import re

import orjson
from django.conf import settings

UPLOADS = re.compile(r"/(api/)?launches/[-a-zA-Z0-9_]+/runs/(upload/)?")
MULTIPART_ROOM = 64 * 1024


def limit_for(path: str) -> tuple[int, int, str]:
    """(bytes allowed, the limit to name, what the body is) for a request to ``path``."""
    if UPLOADS.fullmatch(path):
        return settings.UPLOAD_MAX_BYTES + MULTIPART_ROOM, settings.UPLOAD_MAX_BYTES, "file"
    return settings.FORM_MAX_BYTES, settings.FORM_MAX_BYTES, "request body"


class BodyLimit:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit, shown, noun = limit_for(scope["path"])
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _refuse(send, shown, noun)
            return
        state = {"received": 0, "started": False, "refused": False}

        async def counted_receive():
            if state["refused"]:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                state["received"] += len(message.get("body", b""))
                if state["received"] > limit:
                    state["refused"] = True
                    if not state["started"]:
                        await _refuse(send, shown, noun)
                    return {"type": "http.disconnect"}  # the app stops reading and answers nothing
            return message

        async def guarded_send(message):
            if state["refused"]:
                return  # the 413 is the answer
            if message["type"] == "http.response.start":
                state["started"] = True
            await send(message)

        await self.app(scope, counted_receive, guarded_send)


def _content_length(scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _refuse(send, limit: int, noun: str) -> None:
    what = "the file is" if noun == "file" else "the request body is"
    body = orjson.dumps({"error": f"{what} larger than the limit of {limit:,} bytes"})
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
