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


def test_compose_the_readme_and_serve_run_the_web_the_same_way():
    """One serving path (docs/reads.md): the same uvicorn flags in docker-compose.yml, the
    Dockerfile, the README's by-hand command and `manage.py serve`."""
    from launchboard.management.commands.serve import WS_MAX_SIZE

    command = compose()["services"]["web"]["command"]
    flags = dict(zip(command, [*command[1:], ""], strict=True))
    assert flags["--ws-max-size"] == str(WS_MAX_SIZE)
    assert flags["--ws-per-message-deflate"] == "false"
    assert int(flags["--workers"]) >= 2
    assert "--proxy-headers" in command and "--no-access-log" in command
    readme = (ROOT / "README.md").read_text()
    dockerfile = (ROOT / "Dockerfile").read_text()
    for flag in ("--workers 2", "--proxy-headers", "--ws-per-message-deflate false"):
        assert flag in readme.replace(" \\\n    ", " "), flag
    for flag in ('"--workers", "2"', '"--ws-max-size", "65536"', '"--proxy-headers"'):
        assert flag in dockerfile, flag


def test_nginx_in_front_serves_the_shipped_configuration_and_only_it_is_published():
    """The proxy renders launchboard/deploy/launchboard.conf.template (the file the proxy tests
    and the page benchmark run); web is reachable only through it."""
    from tests.support.proxy import TEMPLATE, render

    services = compose()["services"]
    proxy = services["proxy"]
    assert proxy["image"].startswith("nginx:")
    mount = f"./{TEMPLATE.relative_to(ROOT)}:/etc/nginx/templates/{TEMPLATE.name}:ro"
    assert mount in proxy["volumes"]
    assert proxy["environment"]["LAUNCHBOARD_UPSTREAM"] == "web:8000"
    listen = proxy["environment"]["LAUNCHBOARD_LISTEN"]
    assert proxy["ports"] == [f"8000:{listen}"]
    assert proxy["depends_on"]["web"]["condition"] == "service_healthy"
    assert "ports" not in services["web"]  # X-Forwarded-For is believed from the proxy only
    assert services["web"]["environment"]["FORWARDED_ALLOW_IPS"] == "*"
    rendered = render("web:8000", listen, proxy["environment"]["LAUNCHBOARD_CACHE_DIR"])
    assert "${" not in rendered and f"listen {listen};" in rendered
