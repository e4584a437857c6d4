"""Issue 10 §7: tokens and share secrets never reach a log line, and a token seen in a URL is
revoked (it is in somebody's logs now) with its launch told."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import urllib.error
import urllib.request

import pytest

from checklists.core.services import share_link_create
from checklists.core.tokens import token_create
from checklists.models import ApiToken, Event
from launchboard.redact import redact
from tests.support.server import ROOT, running_server, wait_for_http


@pytest.mark.parametrize(
    "line, secret",
    [
        ('"GET /api/launches/x/?token=lb_AbC-123_xyz HTTP/1.1" 400', "lb_AbC-123_xyz"),
        ('"GET /api/launches/x/?api_key=plainsecret&a=1 HTTP/1.1"', "plainsecret"),
        ('"GET /s/Zx81-secretpart/ HTTP/1.1" 302', "Zx81-secretpart"),
        ("Not Found: /s/Zx81-secretpart/", "Zx81-secretpart"),
        ("Authorization was lb_0123456789abcdef", "lb_0123456789abcdef"),
    ],
)
def test_secrets_are_cut_from_a_line(line, secret):
    assert secret not in redact(line)
    assert "[redacted]" in redact(line)


def test_the_by_hand_uvicorn_with_its_access_log_keeps_no_secret():
    with running_server(start=False) as server:
        made = server.manage(
            "shell",
            "-c",
            "from checklists.models import Launch; from checklists.core.services import "
            "share_link_create; from checklists.core.tokens import token_create; "
            "from django.contrib.auth import get_user_model; "
            "u = get_user_model().objects.create_user('owner'); "
            "l = Launch.objects.get(slug='whatsapp-saas'); "
            "print(token_create(l, name='ci', scopes=['readiness:read'])[1]); "
            "print(share_link_create(l, label='board', actor=u))",
        ).stdout.split()
        token, share = made[-2], made[-1]
        log = server.data_dir / "uvicorn.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "uvicorn", "launchboard.asgi:application",
                 "--host", "127.0.0.1", "--port", str(server.port)],
                cwd=ROOT, env=server.env, stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip
        try:
            wait_for_http(f"{server.url}/healthz", 30, process, log)
            for path in (f"/api/launches/whatsapp-saas/?token={token}", f"/s/{share}/"):
                with contextlib.suppress(urllib.error.HTTPError):  # refused: the line matters
                    urllib.request.urlopen(server.url + path, timeout=10).read()
        finally:
            process.send_signal(signal.SIGINT)
            process.wait(15)
        text = log.read_text()
        assert "GET /api/launches/whatsapp-saas/?token=" in text  # the access log is on
        assert token not in text and share not in text and "[redacted]" in text


def test_a_token_sent_in_a_url_is_revoked_and_its_launch_told(demo, client):
    token, plain = token_create(demo, name="ci", scopes=["readiness:read"], created_by="eng")
    response = client.get(f"/api/launches/whatsapp-saas/?token={plain}")
    assert response.status_code == 400
    token.refresh_from_db()
    assert token.revoked_at is not None
    told = Event.objects.filter(launch=demo, kind="token.revoked").latest("version")
    assert "sent in a URL" in told.summary and token.prefix in told.summary
    again = client.get("/api/launches/whatsapp-saas/", HTTP_AUTHORIZATION=f"Bearer {plain}")
    assert again.status_code == 401
    # the page path too, and a token that is not one changes nothing
    other, plain2 = token_create(demo, name="ci2", scopes=["readiness:read"], created_by="eng")
    client.get(f"/launches/whatsapp-saas/?key={plain2}")
    client.get("/launches/whatsapp-saas/?token=lb_not_a_real_token")
    assert ApiToken.objects.get(pk=other.pk).revoked_at is not None
    assert ApiToken.objects.filter(revoked_at__isnull=True).count() == 0


def test_share_link_secrets_are_not_in_the_request_log(demo, client, caplog, admin_user):
    """Django logs "Not Found: <path>" for a wrong link; the console handler cuts it."""
    import logging

    from launchboard.redact import RedactSecrets

    console = [
        h
        for h in logging.getLogger().handlers
        if any(isinstance(f, RedactSecrets) for f in h.filters)
    ]
    assert console, "the console handler of settings.LOGGING redacts"
    secret = share_link_create(demo, label="x", actor=admin_user)
    client.get(f"/s/{secret}x/")
    assert "Not Found: /s/[redacted]/" in caplog.text  # the line is there, the secret is not
    assert secret not in caplog.text
