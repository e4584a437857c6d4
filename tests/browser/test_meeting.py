"""Issue 13's acceptance in Chromium: a go/no-go meeting held through the page on the demo
launch (the chair at desktop width, the CTO voting on a phone), the decision record exported as
Markdown and PDF (the PDF drawn by pdftoppm, its words read back), its hash equal to the hash
of the board rebuilt at its version, and the record saying when the live board has moved on."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.browser.test_phone_and_people import PHONE, admin_and_cto, assert_fits, sign_in
from tests.support.browser import PASSWORD, chromium
from tests.support.runs import shifted
from tests.support.server import running_server

pytestmark = pytest.mark.browser
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "k6"
MEETING = "/launches/whatsapp-saas/meeting/"


def test_a_meeting_through_the_page_leaves_a_record_bound_to_its_board(tmp_path):
    with running_server() as server:
        admin_and_cto(server)
        with chromium() as browser:
            chair = sign_in(
                browser.new_context(viewport={"width": 1366, "height": 900}), server, "ada", MEETING
            )
            chair.click("text=Open a go/no-go meeting")
            frozen = int(chair.get_attribute("#frozen-version", "data-version"))
            assert "has not moved" in chair.text_content("#meeting-moved")
            chair.fill("textarea[name=attendees]", "ada\ncarol\nsam (Security, on the phone)")
            chair.click("form.attendees button")

            # The live board moves on (a run from CI); the meeting's board does not.
            run = shifted(FIXTURES / "peak_fail.ndjson", tmp_path, days=0)
            server.manage("ingest_results", str(run), "--launch", "whatsapp-saas", "--test", "peak")
            chair.reload()
            moved = chair.text_content("#meeting-moved")
            assert "The live board has moved" in moved and "peak" in moved

            # The CTO votes on a phone.
            cto = sign_in(browser.new_context(**PHONE), server, "carol", MEETING)
            assert_fits(cto, "meeting page")
            cto.check("#vote-cto input[value=no_go]")
            cto.fill("#vote-cto input[name=comment]", "Peak test fails: errors over 1%.")
            cto.fill("#vote-cto input[name=password]", PASSWORD)
            cto.click("#vote-cto button")
            assert "No go" in cto.text_content("#meeting-votes")

            # GO is not the meeting's to give on a PENDING board; NO GO, with its reason, is.
            chair.reload()
            chair.select_option("#close-meeting select[name=outcome]", "GO")
            chair.fill("#close-meeting input[name=password]", PASSWORD)
            chair.click("#close-meeting button")
            assert "only NO GO can be decided" in chair.text_content("[role=alert]")
            chair.select_option("#close-meeting select[name=outcome]", "NO_GO")
            chair.fill("#close-meeting textarea[name=note]", "Re-run the peak test after the fix.")
            chair.fill("#close-meeting input[name=password]", PASSWORD)
            chair.click("#close-meeting button")
            chair.wait_for_url(f"{server.url}/launches/whatsapp-saas/decisions/*/")
            assert chair.text_content("h1") == "Decision: NO GO"
            assert chair.text_content("#record-verified").startswith("Verified")
            assert "no longer matches" in chair.text_content("#record-live")
            shown_hash = chair.text_content("#record-hash").strip()
            chair.screenshot(path=str(tmp_path / "decision.png"), full_page=True)

            # The record and the board's history read on a phone too.
            cto.goto(chair.url)
            assert_fits(cto, "decision record")
            cto.goto(f"{server.url}/launches/whatsapp-saas/history/?version={frozen}")
            assert_fits(cto, "history page")
            assert f"Version {frozen}" in cto.text_content(".made")

            # The record as Markdown and as PDF, from the page's links.
            md = chair.request.get(server.url + chair.get_attribute("text=Markdown", "href"))
            assert md.ok and "**NO GO**" in md.text() and shown_hash in md.text()
            pdf = tmp_path / "record.pdf"
            pdf.write_bytes(
                chair.request.get(server.url + chair.get_attribute("text=PDF", "href")).body()
            )
            subprocess.run(
                [
                    "pdftoppm",
                    "-r",
                    "60",
                    "-png",
                    "-f",
                    "1",
                    "-l",
                    "1",
                    str(pdf),
                    str(tmp_path / "page"),
                ],
                check=True,
            )
            assert (tmp_path / "page-1.png").stat().st_size > 10_000
            words = subprocess.run(
                ["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True
            ).stdout
            assert "Status: PENDING" in words and "Required criteria met" in words
            assert "NO GO" in words and f"version {frozen}" in words

        # The record's hash is the hash of the board rebuilt at its version, in another process.
        rebuilt = server.manage(
            "shell",
            "-c",
            "from checklists.core import history; from checklists.models import DecisionRecord; "
            "r = DecisionRecord.objects.get(); "
            "print(r.version, r.snapshot_hash, history.snapshot_at(r.launch_id, r.version)[1])",
        ).stdout.splitlines()[-1]
        assert rebuilt.split() == [str(frozen), shown_hash, shown_hash]
