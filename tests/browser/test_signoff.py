"""The sign-off acceptance, in a real browser: a CTO approves; a criterion then fails; the
approval shows stale on every open page and the verdict leaves GO."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.browser import PASSWORD, chromium, open_launch
from tests.support.runs import shifted
from tests.support.server import running_server

pytestmark = pytest.mark.browser
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "k6"
PLAN = """
launch: {slug: mini, name: Mini launch, visibility: public}
tasks:
  - {key: deploy, title: Deploy, priority: critical, estimate: 5m, status: done}
load_tests:
  - {key: peak, title: Peak load}
criteria:
  - {key: peak-error-rate, title: Peak error rate < 1%, test: peak, metric: http_req_failed,
     threshold: rate<0.01, measure: Peak load error rate}
signoffs:
  - {role: cto, title: CTO}
"""


def verdict_is(page, word):
    page.wait_for_function(
        f"document.querySelector('#sec-verdict .verdict-word').textContent.trim() === '{word}'",
        timeout=10000,
    )


def test_a_cto_approval_turns_stale_on_every_page_when_a_criterion_fails(tmp_path):
    with running_server(demo=False) as server:
        plan = tmp_path / "mini.yaml"
        plan.write_text(PLAN)
        server.manage("import_plan", str(plan))
        server.manage(
            "ingest_results",
            str(FIXTURES / "peak_pass.ndjson"),
            "--launch",
            "mini",
            "--test",
            "peak",
        )
        server.manage(
            "shell",
            "-c",
            "from django.contrib.auth.models import User; "
            f"User.objects.create_user('carol', password={PASSWORD!r})",
        )
        server.manage("grant", "carol", "mini", "approver", "--signoff", "cto")
        with chromium() as browser:
            cto = open_launch(browser, server, "mini", user="carol")
            watcher = open_launch(browser, server, "mini")
            verdict_is(watcher, "PENDING")

            cto.click("#signoff-cto a.button-link")
            cto.fill("textarea[name=comment]", "Pool fix verified at peak.")
            cto.fill("input[name=password]", PASSWORD)
            cto.click("button[value=approved]")
            cto.wait_for_url(f"{server.url}/launches/mini/")
            for page in (cto, watcher):
                verdict_is(page, "GO")
                assert "Approved" in page.text_content("#signoff-cto")

            failing = shifted(FIXTURES / "peak_fail.ndjson", tmp_path, days=1)
            server.manage("ingest_results", str(failing), "--launch", "mini", "--test", "peak")
            for page in (cto, watcher):
                verdict_is(page, "NO GO")
                page.wait_for_function(
                    "document.querySelector('#signoff-cto .pill').textContent.trim() === 'Stale'",
                    timeout=10000,
                )
                assert "approval is stale" in page.text_content("#signoff-cto")
