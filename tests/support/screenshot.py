"""The README's picture: the demo launch with its evidence, in headless Chromium.

    .venv/bin/python -m tests.support.screenshot docs/status-page.png   (make screenshot)

It serves a fresh database, replays the demo (``LAUNCHBOARD_DEMO_SCALE``, default 1: about
12 minutes, ending at GO) and photographs the status page at desktop width.
"""

from __future__ import annotations

import os
import sys

from tests.support.browser import chromium
from tests.support.server import running_server


def main(path: str) -> None:
    scale = os.environ.get("LAUNCHBOARD_DEMO_SCALE", "1")
    with running_server() as server:
        print(f"replaying the demo (scale {scale})...", flush=True)
        server.manage("demo", "--scale", scale, timeout=3600)
        with chromium() as browser:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(f"{server.url}/launches/whatsapp-saas/")
            page.wait_for_selector("#gantt .main-svg", timeout=15000)
            page.wait_for_selector("#live-state[data-state='live']", timeout=15000)
            page.wait_for_timeout(1500)  # the charts' last draw
            page.screenshot(path=path, full_page=True)
            print(f"{path}: {page.inner_text('.verdict-word')}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "docs/status-page.png")
