"""The README's picture: the demo launch with its evidence, in headless Chromium.

    .venv/bin/python -m tests.support.screenshot docs/status-page.png   (make screenshot)

It serves a fresh database as ``make run`` does (``serve --demo``: the stand-in API and the
embedded CloudWatch), lets the demo replay (``LAUNCHBOARD_DEMO_SCALE``, default 1: about
12 minutes, ending at GO) and photographs the status page at desktop width.
"""

from __future__ import annotations

import os
import sys

from tests.support.browser import chromium
from tests.support.server import running_server

# the demo's last step: Security signs off
DEMO_DONE = (
    "() => document.querySelector('#signoff-security .pill')?.textContent.trim() === 'Approved'"
)


def main(path: str) -> None:
    scale = os.environ.get("LAUNCHBOARD_DEMO_SCALE", "1")
    with running_server(extra_env={"LAUNCHBOARD_DEMO_SCALE": scale}, start=False) as server:
        print(f"replaying the demo (scale {scale})...", flush=True)
        server.start(args=("--demo",))
        with chromium() as browser:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(f"{server.url}/launches/whatsapp-saas/")
            page.wait_for_function(DEMO_DONE, timeout=3_600_000)
            page.wait_for_selector("#gantt .main-svg", timeout=15000)
            page.wait_for_selector("#live-state[data-state='live']", timeout=15000)
            page.wait_for_timeout(1500)  # the charts' last draw
            page.screenshot(path=path, full_page=True)
            print(f"{path}: {page.inner_text('.verdict-word')}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "docs/status-page.png")
