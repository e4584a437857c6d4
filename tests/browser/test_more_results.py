"""An engineer uploads the results a team already has from the launch page - a JMeter XML JTL
and a Locust stats CSV written on a Chinese-locale Windows machine (GBK) - and reads each run's
page at desk width and on a phone: JMeter's figures, the Chinese names decoded and the guessed
encoding said. Real server (`manage.py serve`, embedded worker), Chromium."""

from __future__ import annotations

from pathlib import Path

import pytest

from metrics.parsers import parse_file
from tests.support.browser import PASSWORD, chromium, open_launch
from tests.support.server import running_server

pytestmark = pytest.mark.browser
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
XML = FIXTURES / "jmeter" / "xml_subresults_redirects.xml"
GBK = FIXTURES / "locust" / "old" / "locust_stats_gbk.csv"
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
OVERFLOW = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"


def upload(page, path: Path, fmt: str) -> int:
    before = page.locator("#upload-status").inner_text()
    page.set_input_files("#upload-form input[name=file]", str(path))
    page.select_option("#upload-form select[name=test]", "peak")
    page.select_option("#upload-form select[name=format]", fmt)
    page.click("#upload-form button")
    page.wait_for_function(
        "(before) => { const t = document.getElementById('upload-status').textContent;"
        " return t !== before && t.includes('as evidence for peak'); }",
        arg=before,
        timeout=60000,
    )
    status = page.locator("#upload-status").inner_text()
    return int(status.split("#", 1)[1].split(" ", 1)[0])


def test_a_jmeter_jtl_and_a_gbk_csv_from_the_upload_form_to_their_run_pages():
    with running_server() as server, chromium() as browser:
        server.manage(
            "shell",
            "-c",
            "from django.contrib.auth.models import User; "
            f"User.objects.create_user('jo', password={PASSWORD!r})",
        )
        server.manage("grant", "jo", "whatsapp-saas", "engineer")
        page = open_launch(browser, server, user="jo")
        labels = page.locator("#upload-form select[name=format] option").all_inner_texts()
        assert {"JMeter JTL (CSV)", "JMeter JTL (XML)"} <= set(labels)
        xml_run = upload(page, XML, "jmeter-xml")
        gbk_run = upload(page, GBK, "auto")
        cookies = page.context.cookies()

        jtl = parse_file(XML)
        for size in ({"viewport": {"width": 1300, "height": 900}}, PHONE):
            context = browser.new_context(**size)
            context.add_cookies(cookies)
            reader = context.new_page()
            reader.goto(f"{server.url}/launches/whatsapp-saas/runs/{xml_run}/")
            text = reader.locator("main").inner_text()
            assert "jmeter jmeter-xml" in text
            assert "HTTP Request" in text
            assert f"{jtl.overall.requests}" in text
            assert "400 sub-result(s)" in text  # the warning: redirects inside their samples
            assert reader.evaluate(OVERFLOW) <= 0, (
                f"{size}: the JMeter run is wider than the screen"
            )

            reader.goto(f"{server.url}/launches/whatsapp-saas/runs/{gbk_run}/")
            encoding = reader.locator("p.encoding")
            assert encoding.is_visible()
            assert "gb18030" in encoding.inner_text()
            assert "get接口" in reader.locator("main").inner_text()
            assert reader.evaluate(OVERFLOW) <= 0, f"{size}: the GBK run is wider than the screen"
            context.close()
