"""Issue 10 §15: the data dir and its files are private to their account; private data is not
cached; static files and the HTTPS redirect carry the pages' security headers; API errors are
JSON whatever the method."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

import pytest
from django.test import Client

from checklists.core.tokens import token_create
from checklists.models import Launch, Membership
from tests.support.server import CLEARED, ROOT

SECURITY_HEADERS = (
    "Content-Security-Policy",
    "X-Frame-Options",
    "X-Content-Type-Options",
    "Permissions-Policy",
    "Cross-Origin-Resource-Policy",
)


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_the_embedded_data_dir_and_database_are_private(tmp_path):
    data = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if k not in CLEARED}
    env |= {"LAUNCHBOARD_DATA_DIR": str(data), "LAUNCHBOARD_EMBEDDED_WORKER": "false"}
    old = os.umask(0o022)  # the usual umask: what we make must not depend on it
    try:
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput"],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            timeout=180,
        )
    finally:
        os.umask(old)
    assert mode(data) == 0o700
    made = [p for p in data.iterdir() if p.is_file()]
    assert {p.name for p in made} >= {"launchboard.sqlite3", "secret_key"}
    assert {p.name: mode(p) for p in made} == {p.name: 0o600 for p in made}


def test_an_existing_world_readable_data_dir_is_made_private(tmp_path):
    from launchboard.private import private_dir, private_file

    data = tmp_path / "old"
    data.mkdir(mode=0o755)
    db = data / "launchboard.sqlite3"
    db.write_bytes(b"")
    db.chmod(0o644)
    private_dir(data)
    private_file(db)
    assert (mode(data), mode(db)) == (0o700, 0o600)


def test_pages_for_a_signed_in_person_are_not_stored(demo, client, django_user_model):
    someone = django_user_model.objects.create_user("eng", password="pw-eng-123456")
    Membership.objects.create(launch=demo, user=someone, role="engineer")
    client.force_login(someone)
    for path in ("/launches/whatsapp-saas/", "/api/launches/whatsapp-saas/", "/"):
        assert client.get(path)["Cache-Control"] == "private, no-store", path


def test_a_private_launch_read_with_a_token_is_not_stored(demo, client):
    Launch.objects.filter(pk=demo.pk).update(visibility="private")
    _, plain = token_create(demo, name="ci", scopes=["readiness:read"], created_by="t")
    response = client.get("/api/launches/whatsapp-saas/", HTTP_AUTHORIZATION=f"Bearer {plain}")
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"
    assert response["ETag"]  # a poller still gets its 304s


def test_static_files_carry_the_security_headers(db, client):
    response = client.get("/static/vendor/plotly.min.js")
    assert response.status_code == 200
    missing = [h for h in SECURITY_HEADERS if h not in response.headers]
    assert not missing


def test_the_https_redirect_carries_the_security_headers(db, settings):
    settings.SECURE_SSL_REDIRECT = True
    response = Client().get("/launches/whatsapp-saas/")
    assert response.status_code == 301 and response["Location"].startswith("https://")
    missing = [h for h in SECURITY_HEADERS if h not in response.headers]
    assert not missing


@pytest.mark.parametrize("method", ["delete", "put", "patch"])
@pytest.mark.parametrize(
    "path", ["/api/launches/whatsapp-saas/", "/api/launches/whatsapp-saas/runs/", "/api/runs/1/"]
)
def test_any_method_on_an_api_path_answers_json(demo, method, path):
    client = Client(enforce_csrf_checks=True)
    response = getattr(client, method)(path)
    assert 400 <= response.status_code < 500
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]
