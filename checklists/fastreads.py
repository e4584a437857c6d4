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
import uuid

import orjson
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http.request import split_domain_port, validate_host
from django.template.loader import render_to_string

from launchboard.middleware import CSP, PERMISSIONS

from . import realtime
from .api import etag_matches

log = logging.getLogger(__name__)
PAGE = re.compile(r"/launches/([-a-zA-Z0-9_]+)/")
API = re.compile(r"/api/launches/([-a-zA-Z0-9_]+)/")
VERSION = re.compile(rb"version=(\d{1,12})")
HTML = b"text/html; charset=utf-8"
JSON = b"application/json"


class FastReads:
    """ASGI middleware: ``FastReads(app)`` answers what it can and passes the rest to ``app``."""

    def __init__(self, app):
        self.app = app
        self.session_cookie = settings.SESSION_COOKIE_NAME.encode() + b"="
        self.messages_cookie = b"messages="  # django.contrib.messages' cookie storage
        self.allowed_hosts: dict[bytes, bool] = {}
        self.zipped: dict[tuple, bytes] = {}
        self.lists: dict[tuple, tuple[bytes, bytes, str]] = {}
        self.answered = 0  # requests answered here (tests count them)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        try:
            answer = await self._answer(scope)
        except Exception:  # never fail a read here: Django can still answer it
            log.warning("fast read of %s failed; passing it on", scope["path"], exc_info=True)
            answer = None
        if answer is None:
            await self.app(scope, receive, send)
            return
        self.answered += 1
        await self._send(scope, send, *answer)

    # --- which requests ---------------------------------------------------------------------
    async def _answer(self, scope):
        """(body, content type, etag, cache key) for a request answered here, else None."""
        path, query = scope["path"], scope["query_string"]
        if not path.startswith(("/launches/", "/api/launches/")) and path != "/":
            return None
        headers = dict(scope["headers"])  # the last of repeated headers: enough for these
        if not self._anonymous(headers) or not self._host_ok(headers, scope):
            return None
        if path in ("/", "/api/launches/"):
            if query:
                return None
            await realtime.look_once()
            return self._list(path)
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
        return not getattr(settings, "SECURE_SSL_REDIRECT", False) or _secure(scope, headers)

    def _list(self, path: str):
        known = [k for k in realtime.launches() if k.public]
        key = tuple((k.slug, k.name, k.version) for k in known)
        if key not in self.lists:
            self.lists = {key: _render_lists(known)}
        html, data, etag = self.lists[key]
        body, kind = (html, HTML) if path == "/" else (data, JSON)
        return body, kind, etag, (key, path)

    # --- the answer -------------------------------------------------------------------------
    async def _send(self, scope, send, body: bytes, kind: bytes, etag: str, key) -> None:
        headers = dict(scope["headers"])
        status = 304 if etag_matches(headers.get(b"if-none-match", b"").decode(), etag) else 200
        out = [
            (b"content-type", kind),
            (b"etag", etag.encode()),
            (b"x-request-id", uuid.uuid4().hex[:16].encode()),
            *_constant_headers(_secure(scope, headers)),
        ]
        if status == 200 and b"gzip" in headers.get(b"accept-encoding", b"") and body:
            body = self._gzipped(key, body)
            out.append((b"content-encoding", b"gzip"))
        payload = b"" if status == 304 or scope["method"] == "HEAD" else body
        if status == 200:
            out.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": out})
        await send({"type": "http.response.body", "body": payload})

    def _gzipped(self, key, body: bytes) -> bytes:
        """Compressed once per rendering (a page of ~50 KB becomes ~8 KB for a phone)."""
        found = self.zipped.get(key)
        if found is None:
            if len(self.zipped) > 256:
                self.zipped.clear()
            found = self.zipped[key] = gzip.compress(body, compresslevel=6, mtime=0)
        return found


def _secure(scope, headers) -> bool:
    if scope.get("scheme") == "https":
        return True
    proxy = getattr(settings, "SECURE_PROXY_SSL_HEADER", None)
    if not proxy:
        return False
    name = proxy[0].removeprefix("HTTP_").replace("_", "-").lower().encode()
    return headers.get(name, b"").decode("latin-1").split(",")[0].strip() == proxy[1]


_CONSTANT: dict[bool, list] = {}


def _constant_headers(secure: bool) -> list[tuple[bytes, bytes]]:
    """What Django's middleware adds to the same page (SecurityMiddleware, XFrameOptions,
    our SecurityHeaders), read from the same settings; a test compares the two."""
    found = _CONSTANT.get(secure)
    if found is None:
        found = [
            (b"cache-control", b"no-cache"),
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
        _CONSTANT[secure] = found
    return found


def _render_lists(known) -> tuple[bytes, bytes, str]:
    """The launch list as an anonymous reader sees it, as HTML and as JSON."""
    rows = [
        {"slug": k.slug, "name": k.name, "version": k.version, "url": f"/api/launches/{k.slug}/"}
        for k in known
    ]
    data = orjson.dumps({"launches": rows})
    html = render_to_string(
        "launches/list.html",
        {"launches": known, "user": AnonymousUser(), "login_next": "/"},
    ).encode()
    etag = '"list-' + hashlib.blake2b(html + data, digest_size=8).hexdigest() + '"'
    return html, data, etag
