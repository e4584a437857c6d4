"""Real HTTP receivers on 127.0.0.1 for the notification tests (http.server in a thread)."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Receiver:
    """Records each POST it accepts. ``failing`` makes it answer 500 (the post is not kept);
    ``delay`` makes it slow; with ``secret`` it checks the signature as a user's receiver
    would and refuses (401) a post whose signature does not match."""

    def __init__(self, secret: str | None = None):
        self.secret = secret
        self.failing = False
        self.status = 200  # what it answers when it neither fails nor refuses
        self.delay = 0.0
        self.received: list[dict] = []
        self.refused = 0
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/hooks/T0/B0/secret-part"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def signed(self, headers, body: bytes) -> bool:
        stamp = headers.get("X-Launchboard-Timestamp", "")
        mac = hmac.new(self.secret.encode(), stamp.encode() + b"." + body, hashlib.sha256)
        fresh = stamp.isdigit() and abs(time.time() - int(stamp)) < 300
        given = headers.get("X-Launchboard-Signature", "")
        return fresh and hmac.compare_digest("sha256=" + mac.hexdigest(), given)

    def _handler(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                time.sleep(receiver.delay)
                if receiver.failing:
                    return self._answer(500, b"receiver down")
                if receiver.secret is not None and not receiver.signed(self.headers, body):
                    with receiver.lock:
                        receiver.refused += 1
                    return self._answer(401, b"bad signature")
                with receiver.lock:
                    receiver.received.append({"path": self.path, "json": json.loads(body)})
                self._answer(receiver.status, b"ok")

            def do_GET(self):  # where a followed redirect would land
                with receiver.lock:
                    receiver.received.append({"path": self.path, "json": None})
                self._answer(200, b"ok")

            def _answer(self, status, body):
                self.send_response(status)
                if 300 <= status < 400:
                    self.send_header("Location", "/elsewhere")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        return Handler
