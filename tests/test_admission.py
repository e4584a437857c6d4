"""Bounded concurrency in front of Django: a burst waits in a bounded queue or is answered 503
with Retry-After, never a pile of threads each holding a database connection."""

from __future__ import annotations

import asyncio
import json
import threading
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

from launchboard.admission import Admission
from tests.support.asgi import request


class SlowApp:
    """Stands for Django: holds each request ``hold_s`` and remembers the most at once."""

    def __init__(self, hold_s: float):
        self.hold_s, self.inside, self.most = hold_s, 0, 0

    async def __call__(self, scope, receive, send):
        self.inside += 1
        self.most = max(self.most, self.inside)
        try:
            await asyncio.sleep(self.hold_s)
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"ok"})
        finally:
            self.inside -= 1


def burst(app, n: int, path="/launches/x/", method="GET"):
    async def main():
        return await asyncio.gather(*(request(app, path, method=method) for _ in range(n)))

    return asyncio.run(main())


def test_a_burst_past_the_queue_gets_503_with_retry_after_and_the_rest_are_served():
    inner = SlowApp(0.2)
    app = Admission(inner, slots=2, upload_slots=1, queue=3, wait_s=10)
    answers = burst(app, 10)
    statuses = sorted(a.status for a in answers)
    assert statuses == [200] * 5 + [503] * 5  # 2 in Django, 3 waiting, 5 turned away
    assert inner.most == 2
    busy = next(a for a in answers if a.status == 503)
    assert busy.headers["retry-after"].isdigit()
    assert b"busy" in busy.body


def test_a_request_that_waits_too_long_is_told_to_come_back():
    inner = SlowApp(1.0)
    app = Admission(inner, slots=1, upload_slots=1, queue=10, wait_s=0.2)
    answers = burst(app, 3, path="/api/launches/x/")
    assert sorted(a.status for a in answers) == [200, 503, 503]
    refused = next(a for a in answers if a.status == 503)
    assert json.loads(refused.body)["error"].startswith("Launchboard is busy")
    assert app.lanes["default"].refused == 2


def test_uploads_wait_in_their_own_lane_and_never_hold_up_readers():
    inner = SlowApp(0.5)
    app = Admission(inner, slots=1, upload_slots=1, queue=5, wait_s=10)

    async def main():
        uploads = [
            asyncio.create_task(request(app, "/api/launches/x/runs/", method="POST"))
            for _ in range(2)
        ]
        await asyncio.sleep(0.05)
        started = asyncio.get_running_loop().time()
        page = await request(app, "/launches/x/")
        waited = asyncio.get_running_loop().time() - started
        await asyncio.gather(*uploads)
        return page, waited

    page, waited = asyncio.run(main())
    assert page.status == 200
    assert waited < 0.9  # one hold, not behind the two uploads


def test_every_waiter_gets_its_turn_in_order():
    order = []

    class Recording(SlowApp):
        async def __call__(self, scope, receive, send):
            order.append(scope["path"])
            await super().__call__(scope, receive, send)

    app = Admission(Recording(0.01), slots=1, upload_slots=1, queue=50, wait_s=10)

    async def main():
        tasks = []
        for i in range(20):
            tasks.append(asyncio.create_task(request(app, f"/p/{i}/")))
            await asyncio.sleep(0)  # arrive one after the other
        return await asyncio.gather(*tasks)

    answers = asyncio.run(main())
    assert all(a.status == 200 for a in answers)
    assert order == [f"/p/{i}/" for i in range(20)]


def _threads(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        return int(next(line for line in f if line.startswith("Threads:")).split()[1])


@pytest.mark.slow
def test_a_burst_on_a_small_pool_never_piles_up_threads_or_fails_on_the_pool():
    """Production topology with a pool of 4 connections (one request in Django at a time): 150
    requests that need Django at once are served or told to retry; none fails, and the web
    process never runs more than its slots' worth of request threads."""
    from tests.support.production import production_stack

    with production_stack(
        worker=False,
        extra_env={"DATABASE_POOL_MAX": "4", "LAUNCHBOARD_WEB_QUEUE": "60"},
    ) as stack:
        url = f"{stack.url}/api/launches/whatsapp-saas/?through=django"  # unknown query: Django
        pid = stack.processes["web"].pid
        assert stack.get("/api/launches/whatsapp-saas/?through=django") == 200
        idle = _threads(pid)
        most, done = [idle], threading.Event()

        def sample():
            while not done.is_set():
                most.append(_threads(pid))
                done.wait(0.005)

        def get(barrier):
            barrier.wait()
            try:
                with urllib.request.urlopen(url, timeout=30) as response:
                    return response.status, None
            except urllib.error.HTTPError as exc:
                return exc.code, exc.headers.get("Retry-After")

        barrier = threading.Barrier(150)
        sampler = threading.Thread(target=sample)
        sampler.start()
        with ThreadPoolExecutor(150) as pool:
            results = list(pool.map(get, [barrier] * 150))
        done.set()
        sampler.join()
        log = stack.log("web")
    statuses = [status for status, _ in results]
    assert set(statuses) <= {200, 503}, statuses
    assert statuses.count(200) >= 60  # the queue's worth, and those served meanwhile
    assert all(retry for status, retry in results if status == 503)
    assert "PoolTimeout" not in log and "Internal Server Error" not in log
    # one slot for requests, one for uploads: at most a couple of request threads beyond idle
    assert max(most) - idle <= 3, (idle, max(most))
