"""What a person sees on a phone (390 px) and how people get in without the Django admin
(issue 12 §4, §8, §9), in Chromium against `make run`'s server: an admin invites an engineer on
the Members page, the engineer sets a password through the link; every column a decision rests
on stays visible on a phone; the run page compares under the page's own CSP."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.support.browser import PASSWORD, chromium
from tests.support.runs import shifted
from tests.support.server import running_server

pytestmark = pytest.mark.browser
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "k6"
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}

# Every table cell that holds something: shown, inside the screen; and nothing wider than it.
LAYOUT = """() => {
  const width = document.documentElement.clientWidth;
  const bad = [];
  for (const td of document.querySelectorAll('.table td')) {
    const empty = !(td.textContent.trim() || td.children.length);
    if (empty || td.closest('details:not([open])')) continue;
    const box = td.getBoundingClientRect();
    const style = getComputedStyle(td);
    if (style.display === 'none' || style.visibility === 'hidden' || box.width === 0
        || box.right > width + 1) bad.push(td.dataset.label || td.textContent.trim().slice(0, 40));
  }
  return {bad, overflow: document.documentElement.scrollWidth - width};
}"""


def sign_in(context, server, user, next_path):
    page = context.new_page()
    page.goto(f"{server.url}/accounts/login/?next={next_path}")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{server.url}{next_path}")
    return page


def admin_and_cto(server):
    """ada, admin of the demo launch, and carol, its CTO approver (password PASSWORD)."""
    server.manage(
        "shell",
        "-c",
        "from django.contrib.auth.models import User; "
        f"User.objects.create_user('ada', password={PASSWORD!r}); "
        f"User.objects.create_user('carol', password={PASSWORD!r})",
    )
    server.manage("grant", "ada", "whatsapp-saas", "admin")
    server.manage("grant", "carol", "whatsapp-saas", "approver", "--signoff", "cto")


def assert_fits(page, what):
    layout = page.evaluate(LAYOUT)
    assert layout["bad"] == [], (what, layout["bad"])
    assert layout["overflow"] <= 0, (what, layout["overflow"])


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("phone")
    with running_server() as server:
        for days, name in ((0, "peak_fail.ndjson"), (1, "peak_pass.ndjson")):
            run = shifted(FIXTURES / name, tmp, days=days)
            server.manage("ingest_results", str(run), "--launch", "whatsapp-saas", "--test", "peak")
        admin_and_cto(server)
        yield server


def test_an_admin_invites_an_engineer_on_a_phone_and_the_link_lets_them_in(server):
    with chromium() as browser:
        admin = sign_in(
            browser.new_context(**PHONE), server, "ada", "/launches/whatsapp-saas/members/"
        )
        admin.fill("input[name=username]", "eng")
        admin.fill("input[name=email]", "eng@example.com")
        admin.select_option("select[name=role]", "engineer")
        admin.click("form.add-member button")
        link = admin.text_content("code.invite-link").strip()
        assert re.fullmatch(rf"{re.escape(server.url)}/accounts/reset/\S+/", link)
        assert_fits(admin, "members page")
        for button in admin.query_selector_all("button[name=remove]"):
            assert button.is_visible()

        engineer = browser.new_context(**PHONE).new_page()
        engineer.goto(link)
        engineer.fill("input[name=new_password1]", PASSWORD)
        engineer.fill("input[name=new_password2]", PASSWORD)
        engineer.click("button[type=submit]")
        assert "You are signed in as eng" in engineer.text_content("main")
        engineer.goto(f"{server.url}/launches/whatsapp-saas/")
        assert engineer.text_content(".topbar .who").strip() == "eng"
        # signing out returns to the page, signed out
        engineer.click(".logout button")
        engineer.wait_for_url(f"{server.url}/launches/whatsapp-saas/")
        assert engineer.query_selector(".topbar .who") is None

        engineer.goto(link)
        assert "This link no longer works" in engineer.text_content("main")


def test_nothing_a_decision_rests_on_is_hidden_on_a_phone(server):
    with chromium() as browser:
        reader = browser.new_context(**PHONE).new_page()
        reader.goto(f"{server.url}/launches/whatsapp-saas/")
        reader.wait_for_selector("#live-state[data-state='live']", timeout=15000)
        assert_fits(reader, "status page")
        for label in ("Priority", "Target", "Now", "State", "Run #"):
            cells = reader.query_selector_all(f".table td[data-label^='{label}']")
            assert cells and all(c.is_visible() for c in cells), label

        run_link = reader.get_attribute("#sec-uploads a[href*='/runs/']", "href")
        reader.goto(f"{server.url}{run_link}")
        assert_fits(reader, "run page")
        assert reader.is_visible(".digest")

        cto = sign_in(browser.new_context(**PHONE), server, "carol", "/launches/whatsapp-saas/")
        cto.goto(f"{server.url}/launches/whatsapp-saas/signoff/cto/")
        assert_fits(cto, "sign-off page")
        observed = cto.query_selector_all(".table td[data-label='Observed']")
        assert len(observed) >= 20 and all(o.is_visible() for o in observed)
        assert any("%" in o.text_content() for o in observed)  # the peak run's error rate


def test_the_run_page_compares_with_the_run_chosen_under_its_own_csp(server):
    with chromium() as browser:
        page = browser.new_context(viewport={"width": 1300, "height": 900}).new_page()  # CSP on
        errors = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(f"{server.url}/launches/whatsapp-saas/")
        newest = page.get_attribute("#sec-uploads a[href*='/runs/']", "href")
        page.goto(f"{server.url}{newest}")
        earlier = page.eval_on_selector(
            "select[name=compare]", "(s) => s.options[s.selectedIndex].value"
        )
        assert earlier
        page.select_option("select[name=compare]", earlier)  # the same: pick it explicitly
        page.wait_for_url(re.compile(rf"compare={earlier}$"))
        assert f"#{earlier} (before)" in page.text_content("table.compare thead")
        assert not [e for e in errors if "Content Security Policy" in e]
        figure = page.text_content("#fig-latency")
        assert "p95 limit 400 ms" in figure and "error limit 1%" in figure


def test_the_home_page_keeps_itself_current_and_flags_a_passed_target(server):
    with chromium() as browser:
        home = browser.new_context(**PHONE).new_page()
        home.goto(f"{server.url}/")
        row = "li.launch-row[data-slug='whatsapp-saas']"
        assert home.text_content(f"{row} .launch-verdict").strip() in ("PENDING", "NO GO")
        home.wait_for_selector(f"{row} .target-note.late")  # 2025-01-19 is long past
        assert "late" in home.text_content(f"{row} .target-note")
        assert_fits(home, "home page")
        home.evaluate("() => { window.__notReloaded = true; }")
        version = int(home.get_attribute(row, "data-version"))
        percent = float(home.get_attribute(f"{row} progress", "value"))
        server.manage(
            "shell",
            "-c",
            "from checklists.core.services import task_move; from checklists.models import Task; "
            "task_move(Task.objects.get(launch__slug='whatsapp-saas', key='deploy-staging'), "
            "status='done')",
        )
        home.wait_for_function(
            f'() => Number(document.querySelector("{row}").dataset.version) > {version}',
            timeout=15000,
        )
        assert float(home.get_attribute(f"{row} progress", "value")) > percent
        assert home.evaluate("() => window.__notReloaded === true")

        page = browser.new_context(viewport={"width": 1300, "height": 900}).new_page()
        page.goto(f"{server.url}/launches/whatsapp-saas/")
        page.wait_for_selector("#sec-verdict .target-note.late")
        assert "it misses the window" in page.text_content("#sec-progress .forecast.late")
        now_line = page.eval_on_selector(
            "#gantt", "(el) => el.layout.shapes.find((s) => s.name === 'now').x0"
        )
        drawn = datetime.strptime(now_line, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
        assert abs(datetime.now(UTC) - drawn) < timedelta(minutes=2)
        assert page.eval_on_selector("#gantt", "(el) => el.layout.xaxis.type") == "date"
