"""Websocket clients for bench/realtime_bench.py: N connections from one asyncio (uvloop)
process, `websockets` client, compression off.

    realtime_clients.py --url ws://127.0.0.1:PORT/ws/launches/SLUG/ --origin http://127.0.0.1:PORT
                        --clients 500 --out FILE

Connects every client at once and waits for each one's first message (the snapshot), then
prints one JSON line `{"ready": ...}` to stdout. From then on every client notes, for each
message whose version is higher than any it has seen, `(version, time.time())`. A line `stop`
on stdin (or --max-seconds) ends the run: the clients close and the receipts are written to
--out as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import resource
import sys
import time
from collections import Counter

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

HEAD = re.compile(r'"type": ?"(\w+)", ?"version": ?(\d+)')


def head_of(message: str) -> tuple[str, int]:
    """(type, version) from the first bytes of a message, without parsing all of it."""
    found = HEAD.search(message, 0, 120)
    if found:
        return found.group(1), int(found.group(2))
    data = json.loads(message)
    return data.get("type", "?"), int(data.get("version", 0))


class Client:
    def __init__(self, index: int):
        self.index = index
        self.ws = None
        self.error = ""
        self.snapshot_version = -1
        self.snapshot_bytes = 0
        self.max_version = -1
        self.receipts: list[tuple[int, float]] = []
        self.types: Counter = Counter()
        self.update_bytes: list[tuple[int, int]] = []
        self.closed_early = ""

    async def join(self, url: str, origin: str, timeout: float) -> None:
        try:
            self.ws = await connect(
                url,
                origin=origin,
                compression=None,
                max_size=None,
                ping_interval=None,
                open_timeout=timeout,
                close_timeout=2,
            )
            first = await asyncio.wait_for(self.ws.recv(), timeout)
        except Exception as exc:  # any failure means "did not join"
            self.error = f"{type(exc).__name__}: {exc}"[:200]
            return
        kind, version = head_of(first)
        self.types[kind] += 1
        self.snapshot_version = self.max_version = version
        self.snapshot_bytes = len(first.encode())

    async def listen(self) -> None:
        try:
            async for message in self.ws:
                now = time.time()
                kind, version = head_of(message)
                if kind == "update":  # size, and how many versions it moved the page on
                    self.update_bytes.append((len(message.encode()), version - self.max_version))
                if version > self.max_version:
                    self.max_version = version
                    self.receipts.append((version, now))
                self.types[kind] += 1
        except ConnectionClosed as exc:
            self.closed_early = f"{type(exc).__name__}: {exc}"[:200]
        else:
            self.closed_early = "closed by the server"

    def result(self) -> dict:
        return {
            "joined": self.snapshot_version >= 0,
            "error": self.error,
            "snapshot_version": self.snapshot_version,
            "snapshot_bytes": self.snapshot_bytes,
            "last_version": self.max_version,
            "receipts": self.receipts,
            "types": dict(self.types),
            "update_bytes": self.update_bytes,
            "closed_early": self.closed_early,
        }


async def wait_for_stop(max_seconds: float) -> None:
    loop = asyncio.get_running_loop()
    try:
        await asyncio.wait_for(loop.run_in_executor(None, sys.stdin.readline), max_seconds)
    except TimeoutError:
        print(json.dumps({"warning": "no stop line; stopping at --max-seconds"}), flush=True)


async def close_all(clients: list[Client], tasks: list[asyncio.Task]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    joined = [c.ws for c in clients if c.ws is not None]
    await asyncio.wait_for(
        asyncio.gather(*(ws.close() for ws in joined), return_exceptions=True), 10
    )


async def run(args) -> dict:
    clients = [Client(i) for i in range(args.clients)]
    started = time.monotonic()
    await asyncio.gather(*(c.join(args.url, args.origin, args.timeout) for c in clients))
    joined = [c for c in clients if c.snapshot_version >= 0]
    errors = Counter(c.error.split(":")[0] for c in clients if c.error)
    ready = {"joined": len(joined), "errors": dict(errors)}
    ready["connect_s"] = round(time.monotonic() - started, 3)
    print(json.dumps({"ready": ready}), flush=True)
    tasks = [asyncio.create_task(c.listen()) for c in joined]
    await wait_for_stop(args.max_seconds)
    early = sum(1 for c in joined if c.closed_early)
    await close_all(clients, tasks)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "ready": ready,
        "closed_early": early,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "clients": [c.result() for c in clients],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--origin", required=True)
    parser.add_argument("--clients", type=int, default=500)
    parser.add_argument("--timeout", type=float, default=30.0, help="per connect and snapshot")
    parser.add_argument("--max-seconds", type=float, default=120.0)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    try:
        from uvloop import run as run_loop
    except ImportError:
        run_loop = asyncio.run
    result = run_loop(run(args))
    with open(args.out, "w") as f:
        json.dump(result, f)
    print(json.dumps({"done": True}), flush=True)


if __name__ == "__main__":
    main()
