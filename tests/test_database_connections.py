"""reliability.md T4(b): every application connection to PostgreSQL is killed
(`pg_terminate_backend`) under production settings (uvicorn, the psycopg pool, a Celery
worker). The pool checks a connection before handing it out (CONN_HEALTH_CHECKS), so not one of
the next 100 requests fails, and the live pages stay connected and current."""

from __future__ import annotations

import asyncio
import json
import urllib.request

import psycopg
import pytest

from tests.support.production import ADMIN_URL, production_stack
from tests.support.ws import LiveClient, wait_until

pytestmark = pytest.mark.slow
TICK = (
    "from checklists.models import Criterion; from checklists.core.services import criterion_tick; "
    "criterion_tick(Criterion.objects.get(key='redis-upgraded'), checked=True)"
)


def terminate_app_connections(database: str) -> int:
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            [database],
        ).fetchall()
    return len(rows)


def version(url: str) -> tuple[int, int]:
    try:
        with urllib.request.urlopen(f"{url}/api/launches/whatsapp-saas/", timeout=10) as r:
            return r.status, json.loads(r.read())["version"]
    except urllib.error.HTTPError as exc:
        return exc.code, -1


def test_killed_database_connections_cost_no_request():
    with production_stack() as stack:
        database = stack.env["DATABASE_URL"].rsplit("/", 1)[1]

        async def scenario():
            clients = [LiveClient(stack.url) for _ in range(10)]
            for client in clients:
                client.start()
            status, start = await asyncio.to_thread(version, stack.url)
            assert status == 200
            assert await wait_until(lambda: all(c.version == start for c in clients), 15)

            assert await asyncio.to_thread(terminate_app_connections, database) > 0
            statuses = [
                await asyncio.to_thread(stack.get, path)
                for _ in range(50)
                for path in ("/api/launches/whatsapp-saas/", "/launches/whatsapp-saas/")
            ]
            assert statuses == [200] * 100

            await asyncio.to_thread(stack.manage, "shell", "-c", TICK)
            caught_up = await wait_until(lambda: all(c.version == start + 1 for c in clients), 10)
            for client in clients:
                await client.stop()
            assert caught_up, sorted(c.version for c in clients)

        asyncio.run(asyncio.wait_for(scenario(), 120))
        assert "Traceback" not in stack.log("web")
