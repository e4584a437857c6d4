"""Readiness of this deployment (``GET /readyz``): may a load balancer send it traffic?

``/healthz`` says the process answers (liveness); ``/readyz`` says whether what a change needs is
there: the database, Redis when one is configured (the channel layer, the broker, the shared
renderings) and a Celery worker that ran a task within the last minute (ingest, live sources,
the clock's sweep). A 503 names what is missing.
"""

from __future__ import annotations

import time

import redis
from django.conf import settings
from django.core.cache import caches
from django.db import connection
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from checklists.web.api import json_response

HEARTBEAT_KEY = "lb:worker-heartbeat"
HEARTBEAT_MAX_AGE_S = 60


def beat() -> None:
    """Record that a worker is taking tasks (a beat task and the worker's start both call it)."""
    caches["sections"].set(HEARTBEAT_KEY, time.time(), HEARTBEAT_MAX_AGE_S * 10)


def _database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:
        return f"unreachable: {type(exc).__name__}"
    return "ok"


def _redis() -> str:
    if not settings.REDIS_URL:
        return "not configured"
    try:
        client = redis.Redis.from_url(
            settings.REDIS_URL, socket_timeout=1, socket_connect_timeout=1
        )
        try:
            client.ping()
        finally:
            client.close()
    except Exception as exc:
        return f"unreachable: {type(exc).__name__}"
    return "ok"


def _worker() -> str:
    try:
        last = caches["sections"].get(HEARTBEAT_KEY)
    except Exception as exc:
        return f"unknown: {type(exc).__name__}"
    if last is None:
        return "no heartbeat: is a Celery worker (and beat) running?"
    age = time.time() - last
    if age > HEARTBEAT_MAX_AGE_S:
        return f"last heartbeat {age:.0f} s ago (more than {HEARTBEAT_MAX_AGE_S} s)"
    return "ok"


@never_cache
@require_GET
def readyz(request):
    checks = {"database": _database(), "redis": _redis(), "worker": _worker()}
    missing = [name for name, state in checks.items() if state not in ("ok", "not configured")]
    body = {"status": "not ready" if missing else "ready", **checks}
    if missing:
        body["missing"] = missing
    return json_response(body, status=503 if missing else 200)
