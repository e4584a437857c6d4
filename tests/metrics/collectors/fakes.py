"""Misbehaving network peers on loopback: a closed port, a blackhole, a canned HTTP server."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def closed_port_url() -> str:
    """A loopback URL where nothing listens: connecting is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@contextlib.contextmanager
def blackhole() -> Iterator[str]:
    """A loopback URL that accepts TCP connections (the kernel completes the handshake from the
    listen backlog) and never answers a byte: a hung server."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


@dataclass
class Seen:
    method: str
    path: str
    headers: dict
    body: bytes


@dataclass
class Canned:
    """A running canned server: `url`, and `seen`, the requests it received."""

    url: str
    seen: list[Seen] = field(default_factory=list)


# A responder gets the request and returns (status, headers, body).
Responder = Callable[[Seen], tuple[int, dict, bytes]]


@contextlib.contextmanager
def canned_server(responder: Responder) -> Iterator[Canned]:
    """An HTTP server on loopback answering every request with `responder`."""
    canned = Canned(url="")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def _answer(self):
            length = int(self.headers.get("Content-Length") or 0)
            seen = Seen(self.command, self.path, dict(self.headers), self.rfile.read(length))
            canned.seen.append(seen)
            status, headers, body = responder(seen)
            self.send_response(status)
            for name, value in {"Content-Length": str(len(body)), **headers}.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _answer

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    canned.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield canned
    finally:
        server.shutdown()
        server.server_close()


def always(status: int, body: bytes, content_type: str = "application/json") -> Responder:
    return lambda _seen: (status, {"Content-Type": content_type}, body)
