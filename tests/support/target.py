"""A small HTTP target for real load tools (k6, Locust) in tests.

It runs in a background thread on 127.0.0.1 and misbehaves on purpose, like the seed's backend:

    /ok                      200 at once
    /slow?ms=200             200 after `ms` milliseconds
    /fail                    500
    /flaky?every=5           500 on every `every`-th request, else 200
    /timeout?s=30            answers only after `s` seconds (make the client time out first)
    /db?pool=20&hold_ms=50&wait_ms=200
                             a request needs one of `pool` connections for `hold_ms`; one that
                             waits longer than `wait_ms` for one gets 503 (an exhausted pool)
    /login                   200, or 401 on every 5th request

Each path keeps its own counters; `reset()` clears them.
"""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager, suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


class _State:
    def __init__(self):
        self.lock = threading.Lock()
        self.counts: dict[str, int] = {}
        self.pools: dict[int, threading.BoundedSemaphore] = {}

    def tick(self, path: str) -> int:
        with self.lock:
            self.counts[path] = self.counts.get(path, 0) + 1
            return self.counts[path]

    def pool(self, size: int) -> threading.BoundedSemaphore:
        with self.lock:
            return self.pools.setdefault(size, threading.BoundedSemaphore(size))


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    state: _State

    def log_message(self, *args):  # keep test output clean
        pass

    def _reply(self, status: int, body: bytes = b"ok\n"):
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        with suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(body)

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        self.do_GET()

    def do_GET(self):
        url = urlparse(self.path)
        q = {k: v[-1] for k, v in parse_qs(url.query).items()}
        n = self.state.tick(url.path)
        path = url.path.rstrip("/") or "/"
        if path in ("/", "/ok", "/api/health", "/api/messages"):
            self._reply(200)
        elif path == "/slow":
            time.sleep(float(q.get("ms", 200)) / 1000)
            self._reply(200)
        elif path == "/fail":
            self._reply(500, b"boom\n")
        elif path == "/flaky":
            self._reply(500 if n % int(q.get("every", 5)) == 0 else 200)
        elif path == "/timeout":
            time.sleep(float(q.get("s", 30)))
            self._reply(200)
        elif path == "/db":
            self._db(q)
        elif path == "/login":
            self._reply(401 if n % 5 == 0 else 200)
        else:
            self._reply(404, b"not found\n")

    def _db(self, q):
        pool = self.state.pool(int(q.get("pool", 20)))
        if not pool.acquire(timeout=float(q.get("wait_ms", 200)) / 1000):
            self._reply(503, b"connection pool timeout\n")
            return
        try:
            time.sleep(float(q.get("hold_ms", 50)) / 1000)
        finally:
            pool.release()
        self._reply(200)


class Target:
    """A running target; `url` is its base URL."""

    def __init__(self, server: ThreadingHTTPServer, state: _State):
        self.server = server
        self.state = state
        host, port = server.server_address[:2]
        self.url = f"http://{host}:{port}"

    def count(self, path: str) -> int:
        return self.state.counts.get(path, 0)

    def reset(self):
        with self.state.lock:
            self.state.counts.clear()


@contextmanager
def running_target():
    state = _State()
    handler = type("Handler", (_Handler,), {"state": state})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Target(server, state)
    finally:
        server.shutdown()
        server.server_close()
