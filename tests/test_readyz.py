"""Issue 10 §13: /healthz is liveness; /readyz says whether the database, Redis (when
configured) and a Celery worker are there, and names what is missing with a 503."""

from __future__ import annotations

import time

import pytest
from django.core.cache import caches

from launchboard import health
from launchboard.tasks import heartbeat
from tests.support.server import free_port


def test_no_worker_heartbeat_is_not_ready_and_says_so(db, client):
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["missing"] == ["worker"]
    assert "worker" in body["worker"].lower() or "heartbeat" in body["worker"]
    assert body["database"] == "ok"


def test_a_worker_that_ran_its_heartbeat_makes_it_ready(db, client):
    heartbeat.delay()  # eager in tests: what beat sends and a worker runs
    response = client.get("/readyz")
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "ready"
    assert (
        response["Cache-Control"].startswith("max-age=0") or "no-cache" in response["Cache-Control"]
    )


def test_an_old_heartbeat_is_not_ready(db, client):
    caches["sections"].set(health.HEARTBEAT_KEY, time.time() - 61, 600)
    body = client.get("/readyz").json()
    assert body["missing"] == ["worker"] and "61 s ago" in body["worker"]


def test_an_unreachable_redis_is_named_while_healthz_stays_live(db, client, settings):
    heartbeat.delay()
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    response = client.get("/readyz")
    assert response.status_code == 503
    assert "redis" in response.json()["missing"]
    assert client.get("/healthz").status_code == 200


@pytest.mark.parametrize("path", ["/readyz", "/healthz"])
def test_health_answers_json(db, client, path):
    assert client.get(path)["Content-Type"] == "application/json"
