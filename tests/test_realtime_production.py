"""Production mode as separate processes (uvicorn as shipped, and daphne; channels_redis,
PostgreSQL, a Celery worker):
Redis goes away for 10 s with pages connected and changes are made meanwhile; every page ends up
at the server's version within 10 s of Redis returning, and the HTTP page answers 200 throughout.
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request

import pytest

from tests.support.production import production_stack
from tests.support.ws import LiveClient, wait_until

pytestmark = pytest.mark.slow
TICK = (
    "from checklists.models import Criterion; from checklists.core.services import criterion_tick; "
    "c = Criterion.objects.get(key='{key}'); criterion_tick(c, checked=True)"
)


def server_version(stack) -> int:
    with urllib.request.urlopen(f"{stack.url}/api/launches/whatsapp-saas/", timeout=5) as r:
        return json.loads(r.read())["version"]


async def poll_page(stack, statuses: list, stop: asyncio.Event) -> None:
    while not stop.is_set():
        statuses.append(await asyncio.to_thread(stack.get, "/launches/whatsapp-saas/"))
        await asyncio.sleep(0.5)


@pytest.mark.parametrize("server", ["uvicorn", "daphne"])
def test_pages_catch_up_after_redis_was_away(server):
    with production_stack(server=server, worker=True) as stack:
        asyncio.run(asyncio.wait_for(scenario(stack), 120))


async def scenario(stack):
    clients = [LiveClient(stack.url) for _ in range(20)]
    for client in clients:
        client.start()
    start_version = await asyncio.to_thread(server_version, stack)
    assert await wait_until(lambda: all(c.version == start_version for c in clients), 15)

    statuses, stop = [], asyncio.Event()
    poller = asyncio.get_running_loop().create_task(poll_page(stack, statuses, stop))
    stack.redis.stop()
    down_at = time.monotonic()
    for key in ("redis-upgraded", "ai-retry-implemented", "smoke-tests"):
        result = await asyncio.to_thread(stack.manage, "shell", "-c", TICK.format(key=key))
        assert result.returncode == 0, result.stderr  # a write never fails for want of Redis
    await asyncio.sleep(max(0.0, 10 - (time.monotonic() - down_at)))
    stack.redis.start()
    final = await asyncio.to_thread(server_version, stack)
    assert final == start_version + 3
    caught_up = await wait_until(lambda: all(c.version == final for c in clients), 10)
    stop.set()
    await poller
    for client in clients:
        await client.stop()
    assert caught_up, sorted(c.version for c in clients)
    assert statuses and set(statuses) == {200}, statuses
    assert "MaxConnectionsError" not in stack.log("web")
