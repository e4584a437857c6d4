"""The readiness report (issue 13) as Markdown and PDF, at the current version and a past one:
figures computed from the board rebuilt at that version, the PDF a real document."""

from __future__ import annotations

import subprocess
from pathlib import Path

from django.core.management import call_command
from django.core.management.base import CommandError

from checklists.core.services import criterion_tick, task_move
from checklists.models import Criterion, Task
from metrics.services import run_ingest

ROOT = Path(__file__).resolve().parents[3]
K6 = ROOT / "tests" / "fixtures" / "k6"
REPORT = "/api/launches/whatsapp-saas/report"


def test_the_markdown_report_says_where_the_launch_stands(demo, client):
    first = demo.version
    criterion_tick(Criterion.objects.get(launch=demo, key="redis-upgraded"), checked=True)
    task_move(Task.objects.get(launch=demo, key="deploy-staging"), status="done")
    run_ingest(demo, K6 / "peak_pass.ndjson", test="peak", actor_name="ci")
    data = client.get("/api/launches/whatsapp-saas/").json()
    answer = client.get(f"{REPORT}.md")
    assert answer.status_code == 200
    assert answer["Content-Type"].startswith("text/markdown")
    text = answer.content.decode()
    assert text.startswith("# Readiness report: WhatsApp SaaS backend go-live")
    assert "**Status: PENDING**" in text
    for blocker in data["blockers"]:
        assert blocker.split(":")[0] in text
    # Completion figures from the board itself: the required tasks done, criteria met.
    tasks = [t for t in data["tasks"] if not t["optional"]]
    done = sum(t["status"] == "done" for t in tasks)
    required = [c for c in data["criteria"] if c["required"]]
    ok = sum(c["status"] in ("pass", "warn", "waived") for c in required)
    assert (
        f"| Tasks (required) | {done} of {len(tasks)} | {round(100 * done / len(tasks), 1)}% |"
        in text
    )
    assert f"| Required criteria met | {ok} of {len(required)} |" in text
    assert "Run #" in text and "peak_pass.ndjson" in text
    assert "| Redis upgraded to 6GB | Pass |" in text
    assert "No go/no-go decision recorded for this version yet." in text

    past = client.get(f"{REPORT}.md", {"version": first}).content.decode()
    assert f"Version {first} of launch" in past
    assert "| Redis upgraded to 6GB | Pending |" in past
    assert "peak_pass.ndjson" not in past  # the run came later


def test_the_pdf_report_is_a_document_with_its_figures(demo, client, tmp_path):
    criterion_tick(Criterion.objects.get(launch=demo, key="redis-upgraded"), checked=True)
    answer = client.get(f"{REPORT}.pdf")
    assert answer.status_code == 200 and answer["Content-Type"] == "application/pdf"
    assert answer.content.startswith(b"%PDF")
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(answer.content)
    subprocess.run(
        ["pdftoppm", "-r", "50", "-png", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "p")],
        check=True,
    )
    assert (tmp_path / "p-1.png").stat().st_size > 10_000  # a page drawn, not blank
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "Status: PENDING" in text
    assert "Required criteria met" in text and "%" in text
    assert "Charts need Chromium" not in text  # the charts are in (Chromium is here)


def test_the_report_command_writes_either_format_and_refuses_clearly(demo, tmp_path, capsys):
    out = tmp_path / "r.md"
    call_command("report", "whatsapp-saas", "--output", str(out))
    assert out.read_text().startswith("# Readiness report")
    call_command(
        "report",
        "whatsapp-saas",
        "--format",
        "pdf",
        "--version",
        "1",
        "--output",
        str(tmp_path / "r.pdf"),
    )
    assert (tmp_path / "r.pdf").read_bytes().startswith(b"%PDF")
    for args, words in (
        (["nope"], "no launch 'nope'"),
        (["whatsapp-saas", "--version", "99"], "the launch has versions 1 to"),
        (["whatsapp-saas", "--format", "pdf"], "a PDF needs --output"),
    ):
        try:
            call_command("report", *args)
        except CommandError as exc:
            assert words in str(exc)
            assert exc.returncode == 2
        else:
            raise AssertionError(f"report {args} did not refuse")


def test_bad_report_questions_get_4xx_json(demo, client):
    assert client.get(f"{REPORT}.docx").status_code == 404
    answer = client.get(f"{REPORT}.md", {"version": "99"})
    assert answer.status_code == 404 and "does not exist yet" in answer.json()["error"]
    assert client.get(f"{REPORT}.md", {"at": "soon"}).status_code == 400
    assert client.get("/api/launches/nope/report.md").status_code == 404
