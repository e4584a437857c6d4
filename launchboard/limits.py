"""ASGI guard for upload size: refuse an oversized body from its Content-Length, before Django
spools a single byte of it."""

from __future__ import annotations

import orjson
from django.conf import settings

UPLOAD_PATHS = ("/runs/", "/runs/upload/")


class UploadLimit:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope["method"] == "POST" and self._too_large(scope):
            await self._refuse(send)
            return
        await self.app(scope, receive, send)

    def _too_large(self, scope) -> bool:
        if not scope["path"].endswith(UPLOAD_PATHS):
            return False
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    return int(value) > settings.UPLOAD_MAX_BYTES + 64 * 1024
                except ValueError:
                    return False
        return False

    async def _refuse(self, send):
        limit = settings.UPLOAD_MAX_BYTES
        body = orjson.dumps({"error": f"the file is larger than the limit of {limit:,} bytes"})
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"connection", b"close")],
            }
        )
        await send({"type": "http.response.body", "body": body})
