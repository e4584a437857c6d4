"""docker-compose.yml describes the production processes (no Docker engine here: parse it)."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_it_runs_web_worker_one_beat_postgres_and_redis():
    services = compose()["services"]
    assert {"web", "worker", "beat", "postgres", "redis", "migrate"} <= set(services)
    assert "launchboard.asgi:application" in services["web"]["command"]
    assert services["web"]["command"][0] == "uvicorn"  # the server that met the push target
    assert services["worker"]["command"][:4] == ["celery", "-A", "launchboard", "worker"]
    assert services["beat"]["command"][:4] == ["celery", "-A", "launchboard", "beat"]
    assert services["beat"].get("deploy", {}).get("replicas", 1) == 1
    assert "-B" not in services["worker"]["command"]  # beat never embedded in a worker


def test_app_processes_share_database_broker_and_uploads():
    services = compose()["services"]
    for name in ("web", "worker", "beat", "migrate"):
        env = services[name]["environment"]
        assert env["DATABASE_URL"].startswith("postgres://")
        assert env["DATABASE_URL"].split("@")[1].startswith("postgres:5432/")
        assert env["REDIS_URL"].startswith("redis://redis:6379")
        assert "LAUNCHBOARD_SECRET_KEY" in env
        assert "data:/data" in services[name]["volumes"]
        assert services[name]["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert services[name]["depends_on"]["redis"]["condition"] == "service_healthy"
    for name in ("web", "worker", "beat"):
        assert services[name]["depends_on"]["migrate"]["condition"] == (
            "service_completed_successfully"
        )


def test_the_image_it_builds_exists_and_serves_the_asgi_app():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert compose()["x-app"]["build"] == "."
    assert "collectstatic" in dockerfile
    assert "launchboard.asgi:application" in dockerfile
    assert "healthcheck" in compose()["services"]["web"]
