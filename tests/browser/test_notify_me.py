"""Notifications on a phone (390 px), in Chromium against `make run`'s server under the page's
own CSP: a stakeholder asks to be notified from a share link; an admin sees a failing receiver."""

from __future__ import annotations

import pytest

from tests.notifications.receivers import Receiver
from tests.support.browser import PASSWORD, chromium
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


ADMIN = (
    "from django.contrib.auth.models import User; "
    f"User.objects.create_user('ada', password={PASSWORD!r})"
)
# Every table cell that holds something: shown, inside the screen (as test_phone_and_people).
CELLS_FIT = """() => {
  const width = document.documentElement.clientWidth;
  const bad = [...document.querySelectorAll('.table td')].filter(td => {
    const box = td.getBoundingClientRect();
    return box.width === 0 || box.right > width + 1;
  }).map(td => td.dataset.label);
  return {bad, overflow: document.documentElement.scrollWidth - width};
}"""


def test_an_admin_sees_a_failing_receiver_on_a_phone():
    with Receiver() as hook, running_server() as server, chromium() as browser:
        hook.failing = True
        server.manage("shell", "-c", ADMIN)
        server.manage("grant", "ada", "whatsapp-saas", "admin")
        page = browser.new_context(**PHONE).new_page()
        page.goto(f"{server.url}/accounts/login/?next=/launches/whatsapp-saas/notifications/")
        page.fill("input[name=username]", "ada")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.select_option("select[name=kind]", "webhook")
        page.fill("input[name=target]", hook.url)
        page.click("form.add-receiver button")
        assert len(page.text_content("code.invite-link").strip()) > 30  # the secret, once
        page.click("button[value=test]")
        for _ in range(20):  # the embedded worker tries it
            if "Failing: HTTP 500" in page.text_content("main"):
                break
            page.wait_for_timeout(500)
            page.reload()
        assert "Failing: HTTP 500: receiver down" in page.text_content("main")
        assert "secret-part" not in page.content()
        assert page.evaluate(CELLS_FIT) == {"bad": [], "overflow": 0}
        assert page.is_visible("button[value=remove]")
