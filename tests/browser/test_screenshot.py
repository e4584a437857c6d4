"""The status page in a real browser: it renders, draws its charts, and is readable on a phone.
(The README's screenshot: tests/support/screenshot.py, `make screenshot`.)"""

from __future__ import annotations

import pytest

from tests.support.browser import chromium
from tests.support.server import running_server

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server():
    with running_server() as s:
        yield s


def test_the_status_page_renders_with_its_charts_and_goes_live(server):
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(f"{server.url}/launches/whatsapp-saas/")
        page.wait_for_selector("#gantt .main-svg", timeout=15000)  # plotly drew the Gantt
        page.wait_for_selector("#live-state[data-state='live']", timeout=15000)
        assert page.inner_text(".verdict-word") == "PENDING"
        assert "Fix DB pool → Deploy → Test" in page.inner_text("#sec-decision")
        assert page.locator("#sec-risks tbody tr").count() == 5


def test_the_page_is_readable_on_a_phone(server):
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True)
        page.goto(f"{server.url}/launches/whatsapp-saas/")
        page.wait_for_selector("#gantt .main-svg", timeout=15000)
        # Nothing wider than the screen: no sideways scrolling to read the verdict.
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390 + 1
