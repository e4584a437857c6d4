"""Two real browser pages on one launch (embedded mode, `manage.py serve`): a change made in one
page, or by a command in another process, appears in the other without a reload; a page
survives the server being killed and restarted and catches up by itself."""

from __future__ import annotations

import time

import pytest

from tests.support.browser import PASSWORD, chromium, open_launch
from tests.support.server import running_server

pytestmark = pytest.mark.browser
PEAK = "tests/fixtures/k6/peak_pass.ndjson"


def make_user(server, name="ann", role="engineer", signoff=""):
    server.manage(
        "shell",
        "-c",
        "from django.contrib.auth.models import User; "
        f"User.objects.create_user({name!r}, password={PASSWORD!r})",
    )
    extra = ["--signoff", signoff] if signoff else []
    server.manage("grant", name, "whatsapp-saas", role, *extra)


def open_board(browser, server, user=None):
    page = open_launch(browser, server, user=user)
    page.evaluate("window.__notReloaded = true")
    return page


def not_reloaded(page) -> bool:
    return page.evaluate("window.__notReloaded === true")


def test_changes_reach_the_other_page_and_the_page_survives_a_server_restart():
    with running_server() as server, chromium() as browser:
        make_user(server)
        editor = open_board(browser, server, user="ann")
        viewer = open_board(browser, server)

        # A tick in one page appears in the other.
        editor.click("#criterion-redis-upgraded form.tick button")
        viewer.wait_for_function(
            "document.querySelector('#criterion-redis-upgraded').textContent"
            ".includes('Ticked by ann')",
            timeout=5000,
        )
        assert not_reloaded(viewer)
        # The editor's own row turns into its untick form: the form just sent (its button still
        # focused) is not kept as if the editor were still typing in it.
        editor.wait_for_function(
            "document.querySelector('#criterion-redis-upgraded form.tick button').textContent"
            " === 'Untick'",
            timeout=5000,
        )
        # With an evidence link typed in: the row turns into its untick form and shows the link
        # without a reload (it used to keep "Tick" until one).
        editor.fill(
            "#criterion-alerts-configured input[name=evidence_url]", "https://ci.example/42"
        )
        editor.click("#criterion-alerts-configured form.tick button")
        editor.wait_for_function(
            "() => document.querySelector('#criterion-alerts-configured form.tick button')"
            ".textContent === 'Untick'",
            timeout=5000,
        )
        assert editor.query_selector("#criterion-alerts-configured a[href='https://ci.example/42']")
        assert not_reloaded(editor)

        # A run ingested by a command in another process appears within 2 s.
        server.manage("ingest_results", PEAK, "--launch", "whatsapp-saas", "--test", "peak")
        started = time.monotonic()
        viewer.wait_for_function(
            "document.querySelector('#sec-uploads').textContent.includes('#1')", timeout=2000
        )
        assert time.monotonic() - started < 2.0
        assert "run #1" in viewer.text_content("#sec-suite")
        assert not_reloaded(viewer)

        # Kill the server; the page says so, never "live".
        server.kill()
        viewer.wait_for_selector("#live-state:not([data-state='live'])", timeout=10000)
        assert viewer.inner_text("#live-state") in ("reconnecting…",) or viewer.inner_text(
            "#live-state"
        ).startswith("offline since")
        # Meanwhile a change is made from the command line.
        server.manage(
            "shell",
            "-c",
            "from checklists.models import Criterion; "
            "from checklists.core.services import criterion_tick; "
            "criterion_tick(Criterion.objects.get(key='smoke-tests'), checked=True)",
        )
        server.start()
        viewer.wait_for_selector("#live-state[data-state='live']", timeout=15000)
        viewer.wait_for_function(
            "document.querySelector('#criterion-smoke-tests .pill').textContent.trim() === 'Pass'",
            timeout=10000,
        )
        assert not_reloaded(viewer)
        version = int(viewer.get_attribute("#board", "data-version"))
        assert version == int(
            editor.evaluate(
                "fetch('/api/launches/whatsapp-saas/').then(r => r.json()).then(d => d.version)"
            )
        )
