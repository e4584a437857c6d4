"""Headless Chromium (Debian's /usr/bin/chromium) driven by Playwright."""

from __future__ import annotations

import shutil
from contextlib import contextmanager

CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags Chromium keeps dialling Google on a closed network.
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@contextmanager
def chromium():
    from playwright.sync_api import sync_playwright

    if not shutil.which(CHROMIUM):
        raise RuntimeError(f"{CHROMIUM} is missing: apt-get install -y chromium")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


PASSWORD = "correct horse battery staple"  # of the people the browser tests make


def open_launch(browser, server, slug: str = "whatsapp-saas", user: str | None = None):
    """A launch's page in a fresh context, signed in as ``user`` if given, once it is live.
    bypass_csp: only so the test itself may evaluate JavaScript strings in the page."""
    page = browser.new_context(viewport={"width": 1300, "height": 900}, bypass_csp=True).new_page()
    if user:
        page.goto(f"{server.url}/accounts/login/?next=/launches/{slug}/")
        page.fill("input[name=username]", user)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
    else:
        page.goto(f"{server.url}/launches/{slug}/")
    page.wait_for_selector("#live-state[data-state='live']", timeout=15000)
    return page
