"""S10: an error shows a generic page with a request id, never a traceback; the log line names
the request id, the user and the path; every response carries its request id."""

from __future__ import annotations

import io
import logging
import re

import pytest
from django.conf import settings
from django.test import Client

from launchboard.requestid import RequestContextFilter, UTCFormatter

pytestmark = pytest.mark.django_db


class Lines(logging.Handler):
    """Formats records as the console handler does, at the moment they are logged."""

    def __init__(self):
        super().__init__()
        self.lines: list[str] = []
        self.addFilter(RequestContextFilter())
        self.setFormatter(UTCFormatter(settings.LOGGING["formatters"]["plain"]["format"]))

    def emit(self, record):
        self.lines.append(self.format(record))


@pytest.fixture
def log_lines():
    handler = Lines()
    logging.getLogger("django.request").addHandler(handler)
    yield handler.lines
    logging.getLogger("django.request").removeHandler(handler)


@pytest.fixture
def failing(settings):
    settings.ROOT_URLCONF = "tests.boom_urls"
    settings.DEBUG = False
    return Client(raise_request_exception=False)


def _error_lines(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "django.request" and r.levelno >= 40]


def test_a_failing_page_gives_a_request_id_and_no_detail(failing, log_lines, django_user_model):
    user = django_user_model.objects.create_user("ann")
    failing.force_login(user)
    response = failing.get("/boom/")
    assert response.status_code == 500
    request_id = response["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{16}", request_id)
    body = response.content.decode()
    assert request_id in body
    assert "Traceback" not in body and "secret-ish" not in body and "RuntimeError" not in body
    [line] = [line for line in log_lines if "Internal Server Error" in line]
    assert f"[req {request_id} user {user.pk}]" in line
    assert "/boom/" in line
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ ", line)  # UTC


def test_a_failing_api_call_is_json_with_the_request_id(failing, caplog):
    response = failing.get("/api/boom/")
    assert response.status_code == 500
    assert response.json() == {"error": "server error", "request_id": response["X-Request-ID"]}
    assert len(_error_lines(caplog)) == 1


def test_every_response_has_its_own_request_id(client):
    first, second = client.get("/healthz"), client.get("/healthz")
    assert first["X-Request-ID"] != second["X-Request-ID"]
    spoofed = client.get("/healthz", headers={"X-Request-ID": "forged\nline"})
    assert spoofed["X-Request-ID"] != "forged\nline"  # never taken from the client


def test_a_refusal_logs_one_line_not_a_traceback(demo, django_user_model, client):
    """A 403 is an expected answer: the console keeps Django's one line, without the
    PermissionDenied traceback that used to follow it."""
    from checklists.core.services import membership_grant
    from launchboard.errors import OneLineForbidden

    [console] = [
        h
        for h in logging.getLogger().handlers
        if any(isinstance(f, OneLineForbidden) for f in h.filters)
    ]
    viewer = django_user_model.objects.create_user("vic")
    membership_grant(demo, viewer, "viewer", "", actor_name="test")
    client.force_login(viewer)
    stream = io.StringIO()
    previous = console.setStream(stream)
    try:
        response = client.get(f"/launches/{demo.slug}/members/")
    finally:
        console.setStream(previous)
    assert response.status_code == 403
    lines = stream.getvalue().splitlines()
    assert [line for line in lines if "Forbidden (Permission denied)" in line]
    assert not [line for line in lines if "Traceback" in line or "PermissionDenied" in line]
