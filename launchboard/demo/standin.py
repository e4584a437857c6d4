"""A stand-in for the seed's WhatsApp SaaS API, with the seed's failure: every message needs
one of ``pool`` database connections; above what the pool can serve, requests queue and those
that wait longer than ``wait_ms`` fail with 503 "connection pool timeout". Raising the pool
(``/admin/config?pool=50``, the seed's fix) makes the same load pass.

The AI endpoint fails now and then like the seed's OpenAI calls (timeouts); with
``retries=1`` (the seed's retry logic) it retries them. It listens on 127.0.0.1 only, in a
thread of the process that starts it.
"""

from __future__ import annotations

import json
import random
import threading
import time
from contextlib import suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


class Backend:
    """The stand-in's state: its pool, how long a query holds a connection, the AI's habits."""

    def __init__(self, pool: int = 20, hold_ms: float = 28, wait_ms: float = 500):
        self.lock = threading.Lock()
        self.hold_ms, self.wait_ms = hold_ms, wait_ms
        self.retries = False
        self.ai_failure_rate = 0.08
        self._resize(pool)
        self.in_use = self.peak_in_use = 0
        self.busy: dict[int, float] = {}  # connection-seconds used, by wall-clock second
        # API requests by wall-clock second: [count, 5xx, seconds taken, slowest, fastest],
        # what a load balancer in front of it would report
        self.traffic: dict[int, list[float]] = {}
        self.random = random.Random(20250118)  # the seed's date: the same story each time

    def _resize(self, pool: int) -> None:
        self.pool_size = pool
        self.pool = threading.BoundedSemaphore(pool)

    def configure(self, pool: int | None = None, retries: bool | None = None) -> None:
        with self.lock:
            if pool is not None and pool != self.pool_size:
                self._resize(pool)  # "deploy": new connections from now on
                self.peak_in_use = 0
                self.busy.clear()
            if retries is not None:
                self.retries = retries

    def query(self) -> bool:
        """One database query: False when no connection came within ``wait_ms``."""
        pool = self.pool
        if not pool.acquire(timeout=self.wait_ms / 1000):
            return False
        with self.lock:
            self.in_use += 1
            self.peak_in_use = max(self.peak_in_use, self.in_use)
            hold = self.random.expovariate(1 / self.hold_ms) / 1000
        started = time.time()
        try:
            time.sleep(min(hold, 1.0))
        finally:
            ended = time.time()
            with self.lock:
                self.in_use -= 1
                # each second gets the part of the hold that fell in it, so a second's average
                # never shows more connections than the pool has
                for second in range(int(started), int(ended) + 1):
                    part = min(ended, second + 1) - max(started, second)
                    self.busy[second] = self.busy.get(second, 0.0) + max(part, 0.0)
                while len(self.busy) > 3600:
                    self.busy.pop(min(self.busy))
            pool.release()
        return True

    def served(self, status: int, seconds: float) -> None:
        """One API request answered (``status``, after ``seconds``)."""
        with self.lock:
            second = int(time.time())
            row = self.traffic.get(second)
            if row is None:
                row = self.traffic[second] = [0, 0, 0.0, seconds, seconds]
                if len(self.traffic) > 3600:
                    self.traffic.pop(min(self.traffic))
            row[0] += 1
            row[1] += status >= 500
            row[2] += seconds
            row[3], row[4] = max(row[3], seconds), min(row[4], seconds)

    def seconds(self, start: int, end: int) -> list[tuple[int, float, list[float]]]:
        """(second, connections in use on average, [requests, 5xx, seconds, slowest, fastest])
        for each whole wall-clock second in [start, end): what the demo's CloudWatch is fed."""
        with self.lock:
            return [
                (s, self.busy.get(s, 0.0), list(self.traffic.get(s, (0, 0, 0.0, 0.0, 0.0))))
                for s in range(start, end)
            ]

    def ai_call(self) -> bool:
        attempts = 3 if self.retries else 1
        for _ in range(attempts):
            with self.lock:
                failed = self.random.random() < self.ai_failure_rate
            time.sleep(0.02)
            if not failed:
                return True
        return False

    def metrics(self) -> dict:
        """``connections``: the most connections in use on average over one second (what a
        per-second gauge, like RDS DatabaseConnections, shows); ``peak_in_use``: the instant
        maximum."""
        with self.lock:
            full = [v for k, v in self.busy.items() if k < int(time.time())]
            return {
                "pool_size": self.pool_size,
                "connections_in_use": self.in_use,
                "connections": round(max(full, default=0.0), 1),
                "peak_in_use": self.peak_in_use,
                "retries": self.retries,
            }


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    backend: Backend
    status = 0

    def log_message(self, *args):
        pass

    def _reply(self, status: int, body: dict | None = None) -> None:
        data = json.dumps(body or {"ok": status < 400}).encode()
        self.status = status
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        with suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(data)

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(min(length, 1 << 20))
        self.do_GET()

    def do_GET(self):
        started = time.monotonic()
        self._answer()
        if self.path.startswith("/api/"):
            self.backend.served(self.status, time.monotonic() - started)

    def _answer(self):
        url = urlparse(self.path)
        q = {k: v[-1] for k, v in parse_qs(url.query).items()}
        path = url.path.rstrip("/") or "/"
        b = self.backend
        if path in ("/", "/api/health"):
            self._reply(200)
        elif path in ("/api/messages", "/api/contacts", "/api/conversations"):
            ok = b.query()
            self._reply(200 if ok else 503, None if ok else {"error": "connection pool timeout"})
        elif path == "/api/ai/reply":
            ok = b.query() and b.ai_call()
            self._reply(200 if ok else 504, None if ok else {"error": "AI API timeout"})
        elif path == "/api/login":
            self._reply(200, {"token": "demo"})
        elif path == "/metrics.json":
            self._reply(200, b.metrics())
        elif path == "/admin/config":
            b.configure(
                pool=int(q["pool"]) if "pool" in q else None,
                retries=q["retries"] == "1" if "retries" in q else None,
            )
            self._reply(200, b.metrics())
        else:
            self._reply(404, {"error": "not found"})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024  # a burst of virtual users connecting at once is not refused


class StandIn:
    """The stand-in, running: ``url`` is its base URL; ``stop()`` ends it."""

    def __init__(self, backend: Backend | None = None):
        self.backend = backend or Backend()
        handler = type("Handler", (_Handler,), {"backend": self.backend})
        self.server = _Server(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        host, port = self.server.server_address[:2]
        self.url = f"http://{host}:{port}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
