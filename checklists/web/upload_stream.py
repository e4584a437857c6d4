"""API uploads streamed to disk and parsed while they arrive.

`POST /api/launches/<slug>/runs/` with a bearer token. Django under ASGI would first read the
whole body into a temporary file, then parse the multipart body from it into the upload
directory (two writes and two reads of a file that can be gigabytes), and only then let a
worker start. This ASGI layer checks the token and the quota before reading a byte, writes the
file part to the upload directory as it arrives (hashed on the way, in a thread of its own),
and registers the run as soon as its first bytes show a known format: a worker parses it while
the rest arrives (metrics/uploads.GrowingFile). The answer is the view's: 202 with the run, the
same refusals with the same messages (checklists/web/api.py). Anything it does not recognise (no
token, not multipart) goes on to that view.
"""

from __future__ import annotations

import logging
import re
import uuid

import orjson
from channels.db import DatabaseSyncToAsync
from django.conf import settings
from python_multipart.multipart import MultipartParser, parse_options_header

from checklists.core.access import TokenRefused, check_token
from checklists.core.quotas import upload_admit, upload_charge
from checklists.models import ApiToken, Launch
from checklists.web.api import FORMATS, TOKEN_PARAMS
from metrics.selectors import run_json
from metrics.services import (
    IngestError,
    run_abort_upload,
    run_begin_upload,
    run_finish_upload,
    sniff_format,
)
from metrics.uploads import UploadWriter, new_upload_path

log = logging.getLogger(__name__)
API_UPLOAD = re.compile(r"/api/launches/([-a-zA-Z0-9_]+)/runs/")
HEAD_BYTES = 64 * 1024  # what format sniffing reads
MAX_FIELD = 1024  # the form's other fields (test, format) are short
MAX_PARTS = 16


def _in_thread(fn):
    return DatabaseSyncToAsync(fn, thread_sensitive=False)


class Refused(Exception):
    def __init__(self, status: int, message: str, headers=()):
        super().__init__(message)
        self.status, self.message, self.headers = status, message, list(headers)


class StreamedUploads:
    """ASGI middleware in front of Django (inside admission: an upload holds an upload slot)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        found = (
            API_UPLOAD.fullmatch(scope["path"])
            if scope["type"] == "http" and scope["method"] == "POST"
            else None
        )
        headers = dict(scope.get("headers", ()))
        boundary = _boundary(headers.get(b"content-type", b"")) if found else None
        token = _bearer(headers.get(b"authorization", b""))
        if boundary is None or token is None or _token_in_query(scope["query_string"]):
            await self.app(scope, receive, send)  # the view answers these (or refuses them)
            return
        await Upload(found.group(1), token, boundary, headers).handle(receive, send)


def _boundary(content_type: bytes) -> bytes | None:
    kind, options = parse_options_header(content_type)
    return options.get(b"boundary") if kind == b"multipart/form-data" else None


def _bearer(header: bytes) -> str | None:
    scheme, _, value = header.decode("latin-1").partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def _token_in_query(query: bytes) -> bool:
    names = {part.split(b"=")[0].decode("latin-1") for part in query.split(b"&") if part}
    return bool(names & set(TOKEN_PARAMS))


def _admit(slug: str, plain: str):
    """(token, launch) allowed to upload now, or Refused (as the view would answer)."""
    launch = Launch.objects.filter(slug=slug).first()  # None: answered as another launch's
    try:
        token = check_token(plain, launch, ApiToken.Scope.UPLOAD)
    except TokenRefused as refused:
        raise Refused(refused.status, refused.message) from None
    if wait := upload_admit(token):
        raise Refused(429, wait.message, [(b"retry-after", str(wait.retry_after).encode())])
    tests = list(launch.load_tests.values_list("key", flat=True))
    return token, launch, tests


class Upload:
    """One streamed upload: the multipart body parsed as it arrives."""

    def __init__(self, slug: str, token: str, boundary: bytes, headers: dict):
        self.slug, self.plain, self.boundary = slug, token, boundary
        self.declared = int(headers.get(b"content-length", b"0") or 0)
        self.fields: dict[str, bytes] = {}
        self.writer: UploadWriter | None = None
        self.run = None
        self.filename = ""
        self.fmt = ""
        self.received = 0
        self._part: dict = {}
        self._data: list[bytes] = []  # file bytes the parser gave since the last hand-over
        self._parts = 0
        self._file_done = False

    async def handle(self, receive, send) -> None:
        token = None
        try:
            token, self.launch, self.tests = await _in_thread(_admit)(self.slug, self.plain)
            self.actor_name = f"token {token.name}"
            await self._receive(receive)
            answer = await self._finish()
            await _respond(send, 202, answer)
        except Refused as refused:
            await self._abandon(refused.message)
            await _respond(send, refused.status, {"error": refused.message}, refused.headers)
        except _Disconnected:
            await self._abandon("the upload was cut off")
        except Exception:
            log.exception("upload to %s failed", self.slug)
            await self._abandon("the server could not take the upload")
            await _respond(send, 500, {"error": "the upload failed; try again"})
        finally:
            if token is not None:
                await _in_thread(upload_charge)(token, self.received)

    # --- the body --------------------------------------------------------------------------
    async def _receive(self, receive) -> None:
        parser = MultipartParser(
            self.boundary,
            {
                "on_part_begin": self._part_begin,
                "on_header_field": self._header_field,
                "on_header_value": self._header_value,
                "on_header_end": self._header_end,
                "on_part_data": self._part_data,
                "on_part_end": self._part_end,
            },
        )
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _Disconnected
            chunk = message.get("body", b"")
            self.received += len(chunk)
            try:
                parser.write(chunk)
            except Refused:  # ours, from a callback (too large, too many fields)
                raise
            except Exception as exc:  # the multipart library's own errors
                raise Refused(400, f"the upload could not be read: {exc}") from None
            await self._hand_over()
            if not message.get("more_body", False):
                break
        try:
            parser.finalize()
        except Exception as exc:
            raise Refused(400, f"the upload could not be read: {exc}") from None
        await self._hand_over()

    def _part_begin(self) -> None:
        self._parts += 1
        if self._parts > MAX_PARTS:
            raise Refused(400, "the upload has too many form fields")
        self._part = {"headers": {}, "field": b"", "value": b"", "name": None, "size": 0}

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._part["field"] += data[start:end]

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._part["value"] += data[start:end]

    def _header_end(self) -> None:
        field, value = self._part["field"].lower(), self._part["value"]
        self._part["field"] = self._part["value"] = b""
        if field == b"content-disposition":
            _, options = parse_options_header(value)
            self._part["name"] = options.get(b"name", b"").decode("utf-8", "replace")
            self._part["filename"] = options.get(b"filename", b"").decode("utf-8", "replace")
            if self._part["name"] == "file" and not self._file_done:
                self.filename = self._part["filename"]

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        name = self._part["name"]
        if name == "file" and not self._file_done:
            self._data.append(data[start:end])
            self._part["size"] += end - start
            if self._part["size"] > settings.UPLOAD_MAX_BYTES:
                limit = settings.UPLOAD_MAX_BYTES
                raise Refused(413, f"the file is larger than the limit of {limit:,} bytes")
        elif name:
            value = self.fields.get(name, b"") + data[start:end]
            if len(value) > MAX_FIELD:
                raise Refused(400, f"the form field {name!r} is too long")
            self.fields[name] = value

    def _part_end(self) -> None:
        if self._part.get("name") == "file" and not self._file_done:
            self._file_done = True

    async def _hand_over(self) -> None:
        """Write what the parser gave; register the run once the format is known."""
        if self._data:
            if self.writer is None:
                self.writer = UploadWriter(new_upload_path())
            for piece in self._data:
                await self.writer.write(piece)
            self._data = []
        ready = self.writer is not None and (self.writer.size >= HEAD_BYTES or self._file_done)
        if self.run is None and ready:
            await self._begin()

    async def _begin(self) -> None:
        await self.writer.flush()
        if self.writer.size == 0:
            raise Refused(400, "the file is empty")
        try:
            self.fmt = await _in_thread(sniff_format)(self.writer.path)
        except IngestError as exc:
            raise Refused(415, f"{self.filename or 'the file'}: {exc}") from None
        self.run = await _in_thread(run_begin_upload)(
            self.launch,
            self.writer.path,
            size=max(self.declared, self.writer.size),
            fmt=self.fmt,
            filename=self.filename,
            via="api",
            actor_name=self.actor_name,
        )

    # --- the end ---------------------------------------------------------------------------
    async def _finish(self) -> dict:
        if self.run is None:
            if self.writer is None:
                raise Refused(400, "send the result file as the multipart field 'file'")
            await self._begin()
        self._check_fields()
        sha256 = await self.writer.close()
        ingested = await _in_thread(run_finish_upload)(
            self.run, sha256=sha256, size=self.writer.size, test=self._field("test")
        )
        self.writer = None  # kept: it is the run's now
        data = await _in_thread(run_json)(ingested.run, ingested.duplicate)
        return data | {"url": f"/api/runs/{ingested.run.pk}/"}

    def _field(self, name: str) -> str:
        return self.fields.get(name, b"").decode("utf-8", "replace").strip()

    def _check_fields(self) -> None:
        test, fmt = self._field("test"), self._field("format") or "auto"
        if test and test not in self.tests:
            tests = ", ".join(self.tests)
            raise Refused(400, f"no load test {test!r} in this launch (its tests: {tests})")
        if fmt not in FORMATS:
            raise Refused(400, f"format must be one of {', '.join(FORMATS)}")
        if fmt != "auto" and fmt != self.fmt:
            raise Refused(400, f"the file is {self.fmt}, not {fmt}")

    async def _abandon(self, reason: str) -> None:
        if self.run is not None:
            await _in_thread(run_abort_upload)(self.run, reason)
        if self.writer is not None:
            self.writer.discard()


class _Disconnected(Exception):
    pass


async def _respond(send, status: int, data: dict, headers=()) -> None:
    body = orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"cache-control", b"no-store"),
                (b"x-content-type-options", b"nosniff"),
                (b"x-request-id", uuid.uuid4().hex[:16].encode()),
                *headers,
                *([(b"connection", b"close")] if status >= 400 else []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
