"""Configuration comes from the environment; a bad value stops the process with its name."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from launchboard.settings import database_from_url

BASE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def start(env: dict) -> subprocess.CompletedProcess:
    ours = ("DATABASE_URL", "REDIS_URL", "LAUNCHBOARD_SECRET_KEY", "DJANGO_SECRET_KEY")
    clean = {k: v for k, v in os.environ.items() if k not in ours}
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=BASE,
        env=clean | env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DEBUG": "maybe"}, "DEBUG='maybe' is not a boolean"),
        ({"DATABASE_URL": "mysql://db/x"}, "DATABASE_URL='mysql://db/x' is not supported"),
        (
            {"DATABASE_URL": "postgres://host:5432/", "LAUNCHBOARD_SECRET_KEY": "x" * 60},
            "names no database",
        ),
        ({"REDIS_URL": "http://localhost"}, "REDIS_URL='http://localhost' is not a redis://"),
        ({"LAUNCHBOARD_UPLOAD_MAX_BYTES": "lots"}, "LAUNCHBOARD_UPLOAD_MAX_BYTES='lots'"),
        ({"DATABASE_POOL_MAX": "2"}, "DATABASE_POOL_MAX=2 is too small"),
        (
            {"DATABASE_POOL_MAX": "8", "LAUNCHBOARD_WEB_CONCURRENCY": "10"},
            "is more than DATABASE_POOL_MAX (8)",
        ),
        ({"DATABASE_URL": "postgres://h/db"}, "LAUNCHBOARD_SECRET_KEY is not set"),
    ],
)
def test_a_bad_value_is_refused_at_start_with_a_clear_message(tmp_path, env, message):
    result = start({"LAUNCHBOARD_DATA_DIR": str(tmp_path), **env})
    assert result.returncode != 0
    assert message in result.stderr


def test_no_configuration_at_all_starts_embedded(tmp_path):
    result = start({"LAUNCHBOARD_DATA_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "secret_key").exists()


def test_database_urls_map_to_django_settings():
    pg = database_from_url("postgres://u:p%40ss@db.example:6543/launch?sslmode=require", pool_max=4)
    assert (pg["ENGINE"], pg["NAME"], pg["USER"], pg["PASSWORD"], pg["HOST"], pg["PORT"]) == (
        "django.db.backends.postgresql",
        "launch",
        "u",
        "p@ss",
        "db.example",
        "6543",
    )
    assert pg["OPTIONS"]["sslmode"] == "require"
    assert pg["OPTIONS"]["pool"]["max_size"] == 4
    assert (pg["CONN_MAX_AGE"], pg["CONN_HEALTH_CHECKS"]) == (0, True)
    lite = database_from_url("sqlite:////tmp/x.sqlite3", pool_max=4)
    assert lite["NAME"] == "/tmp/x.sqlite3"
    assert lite["OPTIONS"]["transaction_mode"] == "IMMEDIATE"


def test_the_readme_documents_every_variable_settings_read():
    import re
    from pathlib import Path

    settings_py = Path(BASE, "launchboard", "settings.py").read_text()
    names = set(re.findall(r'env_(?:str|bool|int|list)\(\s*"([A-Z_]+)"', settings_py))
    names |= set(re.findall(r'os\.environ\.get\("([A-Z_]+)"', settings_py))
    readme = Path(BASE, "README.md").read_text()
    missing = sorted(name for name in names if f"`{name}`" not in readme)
    assert names and not missing


def test_django_is_let_in_only_as_many_requests_as_the_pool_serves():
    """Requests, uploads, the live pages' thread and the hub's thread: never more connections
    than the pool holds (launchboard/admission.py)."""
    code = (
        "from django.conf import settings as s; "
        "print(s.WEB_SLOTS, s.UPLOAD_SLOTS, s.DATABASE_POOL_MAX)"
    )
    for pool in ("4", "8", "20"):
        out = subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", code],
            cwd=BASE,
            env=os.environ | {"DATABASE_POOL_MAX": pool},
            capture_output=True,
            text=True,
            timeout=60,
        ).stdout.split()[-3:]
        slots, uploads, size = map(int, out)
        assert slots >= 1 and uploads >= 1 and slots + uploads + 2 <= size
