"""A stakeholder opens a share link on a phone (390 px) and asks to be notified, in Chromium
against `make run`'s server, under the page's own CSP."""

from __future__ import annotations

import pytest

from tests.support.browser import chromium
from tests.support.server import running_server

pytestmark = pytest.mark.browser
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
MAKE_LINK = (
    "from django.contrib.auth.models import User; from checklists.models import Launch; "
    "from checklists.core.services import share_link_create; "
    "print(share_link_create(Launch.objects.get(slug='whatsapp-saas'), label='cfo', "
    "actor=User.objects.create_user('owner')))"
)
COUNT = (
    "from notifications.models import Subscription; "
    "print(list(Subscription.objects.values_list('kind', 'target', 'created_by')))"
)


def test_a_stakeholder_subscribes_from_the_share_link_on_a_phone():
    with running_server() as server, chromium() as browser:
        secret = server.manage("shell", "-c", MAKE_LINK).stdout.strip().splitlines()[-1]
        page = browser.new_context(**PHONE).new_page()
        errors = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(f"{server.url}/s/{secret}/")
        page.wait_for_selector("#live-state[data-state='live']", timeout=15000)
        page.click("text=Notify me")
        page.wait_for_url(f"{server.url}/launches/whatsapp-saas/notify-me/")
        field = page.locator("#notify-email")
        assert field.is_visible() and field.bounding_box()["width"] <= 390
        field.fill("cfo@example.com")
        page.click("form.stack button")
        assert "cfo@example.com gets an email" in page.text_content("[role=status]")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        subscribed = server.manage("shell", "-c", COUNT).stdout
        assert "('email', 'cfo@example.com', 'share link')" in subscribed
        assert errors == []
