"""Which load test a run is evidence for (issue 12 §10): told from its k6 scenario or its file
name when nobody says, asked for when the file does not tell, changeable by an engineer
afterwards (an Event) — never "(no test)" in silence."""

from __future__ import annotations

import io
from pathlib import Path

import orjson
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from checklists.core.services import guess_test
from checklists.models import Event
from metrics.models import Run

pytestmark = pytest.mark.django_db
PEAK = Path(__file__).resolve().parents[2] / "fixtures" / "k6" / "peak_pass.ndjson"
TESTS = [
    ("baseline", "Baseline"),
    ("peak", "Peak load"),
    ("spike", "Spike test"),
    ("business-flow", "Business flow"),
]


@pytest.mark.parametrize(
    ("scenarios", "filename", "expected", "how"),
    [
        (["peak"], "out.ndjson", "peak", "told from its scenario 'peak'"),
        (["Peak load"], "out.ndjson", "peak", "told from its scenario 'Peak load'"),
        (["business_flow"], "x.json", "business-flow", "scenario 'business_flow'"),
        (["peak_500_users"], "x.json", "peak", "scenario 'peak_500_users'"),
        (["default"], "spike-2026-11-28.json", "spike", "file name 'spike-2026-11-28.json'"),
        (["default"], "results.json", "", "neither its scenarios nor its file name"),
        (["baseline", "peak"], "all.json", "", "fits more than one test (baseline, peak)"),
    ],
)
def test_a_runs_test_is_told_from_its_scenario_or_file_name(scenarios, filename, expected, how):
    key, why = guess_test(TESTS, scenarios, filename)
    assert key == expected and how in why


def _ingest(path) -> dict:
    out = io.StringIO()
    call_command("ingest_results", str(path), "--launch", "whatsapp-saas", "--json", stdout=out)
    return orjson.loads(out.getvalue())["runs"][0]


def test_the_cli_without_test_gives_the_run_its_scenarios_test(demo, client):
    ingested = _ingest(PEAK)
    run = Run.objects.get(pk=ingested["id"])
    assert run.test == "peak"
    event = Event.objects.filter(launch=demo, kind="run.test_set").latest("version")
    assert event.after == {"run": run.pk, "test": "peak", "was": "", "why": event.after["why"]}
    assert "scenario 'peak'" in event.after["why"]
    data = client.get("/api/launches/whatsapp-saas/").json()
    peak = next(c for c in data["criteria"] if c["key"] == "peak-error-rate")
    assert peak["status"] != "pending"  # judged on it


def test_a_file_that_does_not_tell_is_asked_for_and_an_engineer_sets_it(
    demo, engineer, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.UPLOAD_DIR = tmp_path / "uploads"
    text = PEAK.read_text().replace('"scenario":"peak"', '"scenario":"default"')
    with django_capture_on_commit_callbacks(execute=True):  # the worker's parse, here
        response = engineer.post(
            "/launches/whatsapp-saas/runs/upload/",
            {"file": SimpleUploadedFile("results.ndjson", text.encode())},
            headers={"Accept": "application/json"},
        )
    assert response.status_code == 202
    run = Run.objects.get(pk=response.json()["id"])
    assert run.status == "done" and run.test == ""
    board = engineer.get("/launches/whatsapp-saas/").content.decode()
    assert f'href="/launches/whatsapp-saas/runs/{run.pk}/">choose a test</a>' in board
    page = engineer.get(f"/launches/whatsapp-saas/runs/{run.pk}/").content.decode()
    assert "Which load test is this run evidence for?" in page

    events = Event.objects.filter(launch=demo).count()
    refused = engineer.post(f"/launches/whatsapp-saas/runs/{run.pk}/test/", {"test": "nope"})
    assert refused.status_code == 302 or refused.status_code == 400
    assert Run.objects.get(pk=run.pk).test == ""
    assert Event.objects.filter(launch=demo).count() == events

    engineer.post(f"/launches/whatsapp-saas/runs/{run.pk}/test/", {"test": "peak"})
    assert Run.objects.get(pk=run.pk).test == "peak"
    event = Event.objects.filter(launch=demo, kind="run.test_set").latest("version")
    assert event.actor_name == "eng" and event.after["why"] == "chosen by hand"
    page = engineer.get(f"/launches/whatsapp-saas/runs/{run.pk}/").content.decode()
    assert "Evidence for the load test <strong>Peak load</strong>" in page

    # the same file again, now with the test chosen: a duplicate of the run that has it
    again = engineer.post(
        "/launches/whatsapp-saas/runs/upload/",
        {"file": SimpleUploadedFile("results.ndjson", text.encode()), "test": "peak"},
        headers={"Accept": "application/json"},
    )
    assert again.json()["duplicate"] is True and again.json()["id"] == run.pk


def test_an_upload_from_the_form_without_a_test_gets_the_one_its_scenario_names(
    demo, engineer, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.UPLOAD_DIR = tmp_path / "uploads"
    with django_capture_on_commit_callbacks(execute=True):
        response = engineer.post(
            "/launches/whatsapp-saas/runs/upload/",
            {"file": SimpleUploadedFile("out.ndjson", PEAK.read_bytes()), "test": ""},
            headers={"Accept": "application/json"},
        )
    run = Run.objects.get(pk=response.json()["id"])
    assert (run.status, run.test) == ("done", "peak")
    assert engineer.get(f"/api/runs/{run.pk}/").json()["test"] == "peak"
