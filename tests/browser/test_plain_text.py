"""Issue 10 §12 in Chromium: a task title with markup is drawn as its text in the timeline,
never as a link or bold text, on a desktop and on a phone."""

from __future__ import annotations

import pytest
from django.conf import settings

from tests.support.browser import chromium
from tests.support.server import running_server

pytestmark = pytest.mark.browser
TITLE = '<b>Fix</b> <a href="javascript:alert(1)">pool</a> & co'


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    plan = tmp_path_factory.mktemp("plan") / "whatsapp-saas.yaml"
    text = settings.DEMO_PLAN.read_text()
    plan.write_text(text.replace("title: Re-run peak load test", f"title: '{TITLE}'", 1))
    with running_server() as s:
        s.manage("import_plan", str(plan))
        yield s


@pytest.mark.parametrize("width", [1300, 390])
def test_a_title_with_markup_is_drawn_as_text(server, width):
    with chromium() as browser:
        page = browser.new_context(viewport={"width": width, "height": 900}).new_page()
        dialogs: list[str] = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto(f"{server.url}/launches/whatsapp-saas/")
        page.wait_for_selector("#gantt .main-svg", timeout=15000)
        labels = page.eval_on_selector_all(
            "#gantt .ytick text", "els => els.map(e => e.textContent)"
        )
        assert TITLE in labels
        assert page.locator("#gantt a").count() == 0
        assert page.locator("#gantt tspan[style*='bold']").count() == 0
        page.eval_on_selector_all(  # click every label: nothing runs
            "#gantt .ytick text",
            "els => els.forEach(e => e.dispatchEvent(new MouseEvent('click', {bubbles: true})))",
        )
        assert dialogs == []
