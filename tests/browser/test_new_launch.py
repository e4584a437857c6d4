"""A site admin pastes the seed's markdown action plan on the new-launch page, reviews the YAML
draft and the lines it did not read, creates the launch and lands on its live status page: at
1366 px and on a phone (390 px), in Chromium under the page's own CSP."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.browser import PASSWORD, chromium
from tests.support.server import running_server

pytestmark = pytest.mark.browser
SEED = Path(__file__).resolve().parents[1] / "fixtures/markdown/launch-action-plan.md"
SIZES = {
    "desk": {"viewport": {"width": 1366, "height": 900}},
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True},
}
OVERFLOW = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"


def test_a_pasted_plan_becomes_a_live_launch_at_desk_and_phone_widths():
    with running_server(demo=False) as server, chromium() as browser:
        server.manage(
            "shell",
            "-c",
            "from django.contrib.auth.models import User; "
            f"User.objects.create_user('sam', password={PASSWORD!r}, is_staff=True)",
        )
        for name, size in SIZES.items():
            page = browser.new_context(**size).new_page()
            errors = []
            page.on(
                "console",
                lambda m, errors=errors: errors.append(m.text) if m.type == "error" else None,
            )
            page.goto(f"{server.url}/accounts/login/?next=/")
            page.fill("input[name=username]", "sam")
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.click("a.new-launch-link")
            page.fill("#markdown", SEED.read_text())
            page.click("button[value=draft]")
            draft = page.locator("#yaml")
            assert "Total Time" in page.locator("table.skipped").inner_text()
            assert page.locator("#import-button").inner_text() == "Create launch"
            assert page.evaluate(OVERFLOW) <= 0, f"{name}: the page is wider than the screen"
            slug = f"seed-{name}"
            draft.fill(draft.input_value().replace("load-test-action-plan-pre-launch-fixes", slug))
            page.click("#import-button")
            page.wait_for_url(f"{server.url}/launches/{slug}/")
            page.wait_for_selector("#live-state[data-state='live']", timeout=15000)
            assert "Load Test Action Plan" in page.locator(".crumb").first.inner_text()
            assert "Fix DB connection pool" in page.locator("body").inner_text()
            assert page.evaluate(OVERFLOW) <= 0, f"{name}: the status page is wider than the screen"
            assert not [e for e in errors if "Content Security Policy" in e], errors
            page.context.close()
