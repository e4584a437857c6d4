"""The ceiling for bench/realtime_bench.py: a bare `websockets` broadcast server (no Django, no
channel layer), like performance.md's raw_ws_server.py.

    realtime_raw.py --port PORT --out FILE

Plain asyncio, compression off. Each new connection gets a small snapshot (version 0). A line
`go N RATE BYTES` on stdin broadcasts N updates at RATE per second, each a JSON message of about
BYTES bytes shaped like the product's (`{"type": "update", "version": i, ...}`), with
``websockets.broadcast``; the send time is ``time.time()`` taken just before the broadcast. The
(version, send time) pairs go to --out, then it prints `done`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
import time

from websockets.asyncio.server import broadcast, serve

PAGES: set = set()


async def page(ws) -> None:
    PAGES.add(ws)
    try:
        await ws.send(json.dumps({"type": "snapshot", "version": 0, "sections": {}}))
        await ws.wait_closed()
    finally:
        PAGES.discard(ws)


def payload(version: int, size: int) -> str:
    head = {"type": "update", "version": version, "verdict": "PENDING"}
    bare = json.dumps(head | {"sections": {"checklist": ""}})
    filler = "x" * max(0, size - len(bare))
    return json.dumps(head | {"sections": {"checklist": filler}})


async def broadcast_paced(count: int, rate: float, size: int) -> list[tuple[int, float]]:
    sent = []
    loop = asyncio.get_running_loop()
    origin = loop.time()
    for version in range(1, count + 1):
        delay = origin + (version - 1) / rate - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        message = payload(version, size)
        at = time.time()
        broadcast(PAGES, message)
        sent.append((version, at))
    return sent


async def main(port: int, out: str) -> None:
    loop = asyncio.get_running_loop()
    async with serve(page, "127.0.0.1", port, compression=None, ping_interval=None):
        print("listening", flush=True)
        line = await loop.run_in_executor(None, sys.stdin.readline)
        _, count, rate, size = line.split()
        sent = await broadcast_paced(int(count), float(rate), int(size))
        usage = resource.getrusage(resource.RUSAGE_SELF)
        result = {"commits": sent, "payload_bytes": len(payload(1, int(size)))}
        result["cpu_s"] = usage.ru_utime + usage.ru_stime
        with open(out, "w") as f:
            json.dump(result, f)
        print("done", flush=True)
        await loop.run_in_executor(None, sys.stdin.readline)  # stays up until told to stop


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    asyncio.run(main(args.port, args.out))
