"""The page a reader gets from the rendered bytes (no Django), in Chromium on a desktop and on a
phone: it draws, goes live without being sent its sections again, follows a change made in a
terminal, and a signed-in engineer on the same launch gets their own controls and messages."""

from __future__ import annotations

import json

import pytest

from tests.support.browser import PASSWORD, chromium, open_launch
from tests.support.server import running_server

pytestmark = pytest.mark.browser
VIEWPORTS = {"desktop": {"width": 1300, "height": 900}, "phone": {"width": 390, "height": 844}}
ITEMS = {  # the item each device's page sees ticked from a terminal
    "desktop": ("smoke-tests", "Smoke tests passing"),
    "phone": ("alerts-configured", "Monitoring alerts configured"),
}


@pytest.fixture(scope="module")
def server():
    with running_server() as s:
        s.manage(
            "shell",
            "-c",
            "from django.contrib.auth import get_user_model; "
            f"get_user_model().objects.create_user('eng', password='{PASSWORD}')",
        )
        s.manage("grant", "eng", "whatsapp-saas", "engineer")
        yield s


@pytest.mark.parametrize("device", list(VIEWPORTS))
def test_a_reader_gets_the_board_goes_live_with_no_resend_and_follows_a_change(server, device):
    with chromium() as browser:
        context = browser.new_context(
            viewport=VIEWPORTS[device], is_mobile=device == "phone", bypass_csp=True
        )
        page = context.new_page()
        frames: list[str] = []
        page.on("websocket", lambda ws: ws.on("framereceived", lambda f: frames.append(f)))
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        response = page.goto(f"{server.url}/launches/whatsapp-saas/")
        assert response.headers["etag"]  # the bytes rendered once, not a page made for us
        page.wait_for_selector("#gantt .main-svg", timeout=15000)
        page.wait_for_selector("#live-state[data-state='live']", timeout=15000)
        first = json.loads(frames[0])
        assert first["sections"] == {}  # the page was current: nothing resent
        before = page.inner_text("#sec-activity")
        server.manage(
            "shell",
            "-c",
            "from checklists.models import Criterion; from checklists.core.services import "
            f"criterion_tick; c = Criterion.objects.get(key='{ITEMS[device][0]}'); "
            "criterion_tick(c, checked=True)",
        )
        page.wait_for_function(
            "before => document.querySelector('#sec-activity').innerText !== before",
            arg=before,
            timeout=10000,
        )
        assert ITEMS[device][1] in page.inner_text("#sec-activity")
        if device == "phone":
            assert page.evaluate("document.documentElement.scrollWidth") <= 391
        assert errors == []


def test_a_signed_in_engineer_gets_their_controls_and_their_messages(server):
    with chromium() as browser:
        page = open_launch(browser, server, user="eng")
        assert page.locator("form.move").first.is_visible()  # hidden from anonymous readers
        assert "eng" in page.inner_text(".who")
        page.locator("#criterion-redis-upgraded button").click()
        page.wait_for_selector("main > .messages li", timeout=10000)
        assert "Redis upgraded to 6GB" in page.inner_text("main > .messages")
        anonymous = browser.new_page()
        anonymous.goto(f"{server.url}/launches/whatsapp-saas/")
        assert not anonymous.locator("form.move").first.is_visible()
        assert "Sign in" in anonymous.inner_text("header")
