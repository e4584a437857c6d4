"""Anonymous reads of public launches, answered before Django from the bytes rendered once per
change.

On launch day most requests are people and CI jobs reading a public launch with neither a
session nor a token: the status page, the readiness JSON, the list of launches. This ASGI layer
answers those from this process's copy of the launch's current rendering (sections.py), which
the process's hub (realtime.py) moves on as soon as the launch changes: no thread, no query and
no template per request. Anything else (a session cookie, a token, a private launch, another
method, a query it does not know, a host Django would refuse, plain HTTP where HTTPS is
required) goes on to Django, which serves the same rendering wrapped for its viewer.

Why here and not in a view: Django under ASGI costs ~2 ms of CPU per request even for cached
bytes (thread hops, middleware); this path costs a few tens of microseconds
(docs/benchmarks/page.md).
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import re
import secrets

import orjson
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http.request import split_domain_port, validate_host
from django.template.loader import render_to_string

from checklists.realtime import hub as realtime
from checklists.web.api import etag_matches
from launchboard.middleware import CSP, PERMISSIONS

log = logging.getLogger(__name__)
PAGE = re.compile(r"/launches/([-a-zA-Z0-9_]+)/")
API = re.compile(r"/api/launches/([-a-zA-Z0-9_]+)/")
VERSION = re.compile(rb"version=(\d{1,12})")
HTML = b"text/html; charset=utf-8"
JSON = b"application/json"
SHARED_CACHE = b"max-age=0, s-maxage=1"


class FastReads:
    """ASGI middleware: ``FastReads(app)`` answers what it can and passes the rest to ``app``."""

    def __init__(self, app):
        self.app = app
        # read once: Django's lazy settings cost a few microseconds per look
        self.ssl_redirect = getattr(settings, "SECURE_SSL_REDIRECT", False)
        self.proxy_header = _proxy_header()
        self.constant = {secure: _constant_headers(secure) for secure in (False, True)}
        self.session_cookie = settings.SESSION_COOKIE_NAME.encode() + b"="
        self.messages_cookie = b"messages="  # django.contrib.messages' cookie storage
        self.allowed_hosts: dict[bytes, bool] = {}
        self.zipped: dict[tuple, bytes] = {}
        self.lists: dict[tuple, tuple[bytes, bytes, str]] = {}
        self.header_lists: dict[tuple, list] = {}
        self.answered = 0  # requests answered here (tests count them)
        # X-Request-ID: a random prefix per process and a counter (no system call per request)
        self.prefix = secrets.token_hex(4).encode()
        self.served = 0

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            # websocket and lifespan too: this layer sits in front of the protocol router
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])  # the last of repeated headers: enough for these
        try:
            answer = await self._answer(scope, headers)
        except Exception:  # never fail a read here: Django can still answer it
            log.warning("fast read of %s failed; passing it on", scope["path"], exc_info=True)
            answer = None
        if answer is None:
            await self.app(scope, receive, send)
            return
        self.answered += 1
        await self._send(scope, headers, send, *answer)

    # --- which requests ---------------------------------------------------------------------
    async def _answer(self, scope, headers):
        """(body, content type, etag, cache key) for a request answered here, else None."""
        path, query = scope["path"], scope["query_string"]
        if not path.startswith(("/launches/", "/api/launches/")) and path != "/":
            return None
        if not self._anonymous(headers) or not self._host_ok(headers, scope):
            return None
        if path in ("/", "/api/launches/"):
            if query:
                return None
            await realtime.look_once()
            return await self._list(path)
        page = PAGE.fullmatch(path)
        api = None if page else API.fullmatch(path)
        if page is None and api is None:
            return None
        asked = None
        if query:
            found = VERSION.fullmatch(query) if api else None
            if found is None:
                return None
            asked = int(found.group(1))
        launch = await realtime.known((page or api).group(1))
        if launch is None or not launch.public:
            return None
        shown = await realtime.rendering(launch)
        if not shown.public or (asked is not None and asked != shown.version):
            return None
        key = (shown.launch_id, shown.version, shown.rendered_at)
        if page:
            return shown.page, HTML, shown.page_etag, (*key, "page")
        return shown.api, JSON, shown.etag, (*key, "api")

    def _anonymous(self, headers) -> bool:
        """No token and no cookie that could make the answer differ: a session (a signed-in
        viewer, a share link) or messages to show."""
        if b"authorization" in headers:
            return False
        cookie = headers.get(b"cookie", b"")
        return self.session_cookie not in cookie and self.messages_cookie not in cookie

    def _host_ok(self, headers, scope) -> bool:
        host = headers.get(b"host", b"")
        allowed = self.allowed_hosts.get(host)
        if allowed is None:
            domain, _ = split_domain_port(host.decode("latin-1"))
            allowed = bool(domain) and validate_host(domain, settings.ALLOWED_HOSTS)
            if len(self.allowed_hosts) < 256:
                self.allowed_hosts[host] = allowed
        if not allowed:
            return False  # Django answers 400 and logs it
        return not self.ssl_redirect or self._secure(scope, headers)

    async def _list(self, path: str):
        shown = [await realtime.rendering(k) for k in realtime.launches() if k.public]
        key = tuple((s.launch_id, s.version, s.rendered_at) for s in shown)
        if key not in self.lists:
            self.lists = {key: _render_lists([s.summary for s in shown])}
        html, data, etag = self.lists[key]
        body, kind = (html, HTML) if path == "/" else (data, JSON)
        return body, kind, etag, (key, path)

    # --- the answer -------------------------------------------------------------------------
    async def _send(self, scope, headers, send, body, kind, etag, key) -> None:
        if etag_matches(headers.get(b"if-none-match", b"").decode("latin-1"), etag):
            status, payload = 304, b""
            out = [(b"etag", etag.encode()), *self.constant[self._secure(scope, headers)]]
        else:
            zipped = b"gzip" in headers.get(b"accept-encoding", b"") and body
            if zipped:
                body, key = self._gzipped(key, body), (*key, "gzip")
            status, payload = 200, b"" if scope["method"] == "HEAD" else body
            out = self._headers(key, scope, headers, body, kind, etag, zipped)
        self.served += 1
        request_id = b"%s%08x" % (self.prefix, self.served & 0xFFFFFFFF)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [*out, (b"x-request-id", request_id)],
            }
        )
        await send({"type": "http.response.body", "body": payload})

    def _secure(self, scope, headers) -> bool:
        if scope.get("scheme") == "https":
            return True
        if self.proxy_header is None:
            return False
        name, value = self.proxy_header
        return headers.get(name, b"").decode("latin-1").split(",")[0].strip() == value

    def _headers(self, key, scope, headers, body, kind, etag, zipped) -> list:
        """The headers of a 200 for one rendering, built once (they are the same each time)."""
        secure = self._secure(scope, headers)
        found = self.header_lists.get((key, secure))
        if found is None:
            found = [
                (b"content-type", kind),
                (b"content-length", str(len(body)).encode()),
                (b"etag", etag.encode()),
                *self.constant[secure],
                *([(b"content-encoding", b"gzip")] if zipped else []),
            ]
            if len(self.header_lists) > 256:
                self.header_lists.clear()
            self.header_lists[(key, secure)] = found
        return found

    def _gzipped(self, key, body: bytes) -> bytes:
        """Compressed once per rendering (a page of ~50 KB becomes ~8 KB for a phone)."""
        found = self.zipped.get(key)
        if found is None:
            if len(self.zipped) > 256:
                self.zipped.clear()
            found = self.zipped[key] = gzip.compress(body, compresslevel=6, mtime=0)
        return found


def _proxy_header() -> tuple[bytes, str] | None:
    """SECURE_PROXY_SSL_HEADER as the ASGI header name and the value that means HTTPS."""
    proxy = getattr(settings, "SECURE_PROXY_SSL_HEADER", None)
    if not proxy:
        return None
    return proxy[0].removeprefix("HTTP_").replace("_", "-").lower().encode(), proxy[1]


def _constant_headers(secure: bool) -> list[tuple[bytes, bytes]]:
    """What Django's middleware adds to the same page (SecurityMiddleware, XFrameOptions,
    our SecurityHeaders), read from the same settings; a test compares the two."""
    found = [
        # a browser revalidates every time (ETag); a shared cache, such as the micro-caching
        # proxy in front (launchboard/deploy/), may keep it one second: what it serves is
        # then at most a second behind, and an open page is brought up to date by its WebSocket
        (b"cache-control", SHARED_CACHE),
        (b"vary", b"Cookie, Authorization, Accept-Encoding"),
        (b"x-frame-options", settings.X_FRAME_OPTIONS.encode()),
        (b"content-security-policy", CSP.encode()),
        (b"permissions-policy", PERMISSIONS.encode()),
        (b"cross-origin-resource-policy", b"same-origin"),
    ]
    if settings.SECURE_CONTENT_TYPE_NOSNIFF:
        found.append((b"x-content-type-options", b"nosniff"))
    if settings.SECURE_REFERRER_POLICY:
        found.append((b"referrer-policy", settings.SECURE_REFERRER_POLICY.encode()))
    if settings.SECURE_CROSS_ORIGIN_OPENER_POLICY:
        policy = settings.SECURE_CROSS_ORIGIN_OPENER_POLICY.encode()
        found.append((b"cross-origin-opener-policy", policy))
    if secure and settings.SECURE_HSTS_SECONDS:
        hsts = f"max-age={settings.SECURE_HSTS_SECONDS}"
        if settings.SECURE_HSTS_INCLUDE_SUBDOMAINS:
            hsts += "; includeSubDomains"
        if settings.SECURE_HSTS_PRELOAD:
            hsts += "; preload"
        found.append((b"strict-transport-security", hsts.encode()))
    return found


def _render_lists(rows: list[dict]) -> tuple[bytes, bytes, str]:
    """The launch list as an anonymous reader sees it, as HTML and as JSON (the rows are each
    launch's summary, made with its rendering)."""
    data = orjson.dumps({"launches": rows})
    html = render_to_string(
        "launches/list.html",
        {"launches": rows, "user": AnonymousUser(), "login_next": "/"},
    ).encode()
    etag = '"list-' + hashlib.blake2b(html + data, digest_size=8).hexdigest() + '"'
    return html, data, etag
