"""Load-test evidence in a launch: ingest_results, the upload API, the verdict it drives."""

from __future__ import annotations

import gzip
import io
import re
import shutil
from datetime import timedelta
from pathlib import Path

import orjson
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from checklists.core.services import task_move
from checklists.core.tokens import token_create
from checklists.models import Event, Task
from metrics.models import Run, RunSeries
from tests.support.runs import shifted

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
PEAK_FAIL = FIXTURES / "k6" / "peak_fail.ndjson"
PEAK_PASS = FIXTURES / "k6" / "peak_pass.ndjson"


def ingest(*args) -> dict:
    out = io.StringIO()
    call_command("ingest_results", *map(str, args), "--json", stdout=out)
    return orjson.loads(out.getvalue())


def verdict(client) -> dict:
    return client.get("/api/launches/whatsapp-saas/").json()


def criterion(data, key) -> dict:
    return next(c for c in data["criteria"] if c["key"] == key)


@pytest.fixture
def deployed(demo):
    """The demo launch with its fix deployed, so new peak runs can prove something."""
    for key in ("deploy-staging", "verify-deployment"):
        task_move(Task.objects.get(launch=demo, key=key), status="done")
    Task.objects.filter(launch=demo, key="deploy-staging").update(
        done_at=timezone.now() - timedelta(days=3650)  # the fixtures were made today
    )
    return demo


def test_a_failing_peak_run_turns_the_verdict_no_go_in_plain_words(deployed, client):
    data = ingest(PEAK_FAIL, "--launch", "whatsapp-saas", "--test", "peak")
    run = data["runs"][0]
    assert (run["tool"], run["format"], run["test"], run["complete"], run["duplicate"]) == (
        "k6",
        "k6-json",
        "peak",
        True,
        False,
    )
    state = verdict(client)
    assert state["verdict"] == "NO_GO"
    rate = run["overall"]["error_rate"]
    assert rate > 0.01
    error = criterion(state, "peak-error-rate")
    assert error["status"] == "fail"
    assert error["observed"] == pytest.approx(rate)
    assert f"Peak load error rate {error['observed_text']} is not below 1%." in state["blockers"]
    assert state["decision"]["path"][1]["status"] == "fail"


def test_a_passing_run_afterwards_flips_the_criterion_to_pass(deployed, client, tmp_path):
    ingest(PEAK_FAIL, "--launch", "whatsapp-saas", "--test", "peak")
    assert verdict(client)["verdict"] == "NO_GO"
    data = ingest(shifted(PEAK_PASS, tmp_path, 1), "--launch", "whatsapp-saas", "--test", "peak")
    assert data["runs"][0]["overall"]["error_rate"] < 0.01
    state = verdict(client)
    assert criterion(state, "peak-error-rate")["status"] == "pass"
    assert criterion(state, "peak-p95")["status"] == "pass"
    assert state["verdict"] == "PENDING"  # the rest of the plan still waits
    assert not any("error rate" in b and "not below" in b for b in state["blockers"])


def test_a_run_taken_before_the_deploy_is_stale(demo, client):
    ingest(PEAK_PASS, "--launch", "whatsapp-saas", "--test", "peak")
    state = verdict(client)
    assert criterion(state, "peak-error-rate")["status"] == "stale"
    assert state["verdict"] == "PENDING"


def test_the_same_file_twice_is_one_run(demo):
    first = ingest(PEAK_PASS, "--launch", "whatsapp-saas", "--test", "peak")["runs"][0]
    second = ingest(PEAK_PASS, "--launch", "whatsapp-saas", "--test", "peak")["runs"][0]
    assert (second["id"], second["duplicate"]) == (first["id"], True)
    assert Run.objects.count() == 1
    assert Event.objects.filter(kind="run.ingested").count() == 1


def test_the_json_follows_the_contract(demo):
    run = ingest(FIXTURES / "k6" / "peak_pass.ndjson.gz", "--launch", "whatsapp-saas")["runs"][0]
    keys = {
        "requests",
        "failed",
        "error_rate",
        "rps",
        "p50_ms",
        "p90_ms",
        "p95_ms",
        "p99_ms",
        "max_ms",
    }
    assert keys <= set(run["overall"])
    assert run["scenarios"] and all(keys <= set(s) for s in run["scenarios"].values())
    assert run["endpoints"] and all(" " in name for name in run["endpoints"])
    assert run["overall"]["error_rate"] == pytest.approx(
        run["overall"]["failed"] / run["overall"]["requests"]
    )


def test_summary_exports_and_locust_csv_are_ingested(demo):
    summary = ingest(
        FIXTURES / "k6" / "peak_pass.summary-export.json", "--launch", "whatsapp-saas"
    )["runs"][0]
    handle = ingest(FIXTURES / "k6" / "peak_pass.handle-summary.json", "--launch", "whatsapp-saas")[
        "runs"
    ][0]
    assert summary["format"] == handle["format"] == "k6-summary"
    assert summary["overall"]["requests"] == handle["overall"]["requests"]
    locust = ingest(FIXTURES / "locust" / "run", "--launch", "whatsapp-saas")["runs"][0]
    assert (locust["tool"], list(locust["scenarios"])) == ("locust", ["default"])


def test_an_interrupted_run_is_stored_incomplete_and_cannot_pass(deployed, client, tmp_path):
    cut = tmp_path / "cut.ndjson"
    data = PEAK_PASS.read_bytes()
    cut.write_bytes(data[: len(data) - 40])  # the last line is cut mid-way
    run = ingest(cut, "--launch", "whatsapp-saas", "--test", "peak")["runs"][0]
    assert run["complete"] is False
    state = verdict(client)
    assert criterion(state, "peak-error-rate")["status"] == "pending"
    assert "interrupted" in criterion(state, "peak-error-rate")["why"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (bytes(range(256)) * 4, ""),
        (b'{"hello": "world"}\n', ""),
        (b"name,age\nann,3\n", ""),
        (gzip.compress(PEAK_PASS.read_bytes())[:2000], "gzip"),
    ],
    ids=["empty", "binary", "json-not-k6", "csv-not-locust", "truncated-gzip"],
)
def test_bad_input_is_refused_stores_nothing_and_keeps_earlier_runs(
    demo, tmp_path, content, message
):
    ingest(PEAK_PASS, "--launch", "whatsapp-saas", "--test", "peak")
    before = (Run.objects.count(), Event.objects.count())
    bad = tmp_path / "bad.ndjson"
    bad.write_bytes(content)
    with pytest.raises(CommandError) as exc:
        ingest(bad, "--launch", "whatsapp-saas", "--test", "peak")
    assert str(exc.value).startswith(f"{bad}: ")
    assert message in str(exc.value)
    assert exc.value.returncode != 0
    assert (Run.objects.count(), Event.objects.count()) == before


def test_unknown_launch_or_test_is_refused(demo):
    with pytest.raises(CommandError, match="no launch"):
        ingest(PEAK_PASS, "--launch", "nope")
    with pytest.raises(CommandError, match="has no load test 'soak'"):
        ingest(PEAK_PASS, "--launch", "whatsapp-saas", "--test", "soak")


# --- the upload API ------------------------------------------------------------------------------
@pytest.fixture
def token(demo):
    return token_create(demo, name="ci", scopes=["runs:write", "readiness:read"])[1]


def upload(client, token, path, **fields):
    with open(path, "rb") as f:
        return client.post(
            "/api/launches/whatsapp-saas/runs/",
            {"file": f, **fields},
            headers={"Authorization": f"Bearer {token}"} if token else {},
        )


def test_an_upload_is_accepted_parsed_and_readable(
    demo, token, client, django_capture_on_commit_callbacks, settings, tmp_path
):
    settings.UPLOAD_DIR = tmp_path
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(client, token, PEAK_FAIL, test="peak")
    assert response.status_code == 202
    body = response.json()
    assert (body["status"], body["duplicate"]) == ("processing", False)
    run = client.get(body["url"], headers={"Authorization": f"Bearer {token}"}).json()
    assert (run["status"], run["tool"], run["test"]) == ("done", "k6", "peak")
    cli = ingest(PEAK_FAIL, "--launch", "whatsapp-saas")["runs"][0]
    assert cli["duplicate"] and cli["id"] == run["id"]  # one code path, one run
    assert run["overall"] == cli["overall"]
    assert list(tmp_path.iterdir()) == []  # the stored upload is removed once parsed


@pytest.mark.parametrize(
    "name",
    [
        "../../etc/passwd",
        "x" * 10_000 + ".ndjson",
        "run\u202egnp.ndjson",  # right-to-left override
        "CON",
        "<script>alert(1)</script>.ndjson",
    ],
    ids=["traversal", "10k-chars", "rtl", "con", "html"],
)
def test_a_hostile_file_name_is_only_escaped_metadata(
    demo, token, client, tmp_path, settings, name
):
    """reliability.md U10: stored under a generated name; the client's name never a path."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.UPLOAD_DIR = tmp_path / "uploads"
    response = client.post(
        "/api/launches/whatsapp-saas/runs/",
        {"file": SimpleUploadedFile(name, PEAK_PASS.read_bytes()), "test": "peak"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 202
    run = Run.objects.get()
    stored = Path(run.stored_path)
    assert stored.parent == settings.UPLOAD_DIR and re.fullmatch(
        r"[0-9a-f]{32}\.upload", stored.name
    )
    assert [p.name for p in settings.UPLOAD_DIR.iterdir()] == [stored.name]
    assert not (tmp_path / "etc").exists()
    assert len(run.filename) <= 255
    response = client.get(f"/launches/whatsapp-saas/runs/{run.pk}/")
    assert response.status_code == 200
    page = response.content.decode()
    assert run.filename and run.filename[:40] in page.replace("&lt;", "<").replace("&gt;", ">")
    assert "<script>alert(1)</script>" not in page  # shown, escaped


def test_upload_refusals_are_clear_json(demo, token, client, tmp_path, settings):
    settings.UPLOAD_DIR = tmp_path
    assert upload(client, None, PEAK_PASS).status_code == 401
    assert upload(client, "lb_wrong", PEAK_PASS).status_code == 401
    garbage = tmp_path / "garbage.bin"
    garbage.write_bytes(bytes(range(256)) * 8)
    response = upload(client, token, garbage)
    assert response.status_code == 415
    assert "error" in response.json()
    response = upload(client, token, PEAK_PASS, test="soak")
    assert (response.status_code, "no load test 'soak'" in response.json()["error"]) == (400, True)
    response = client.post(
        "/api/launches/whatsapp-saas/runs/", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 400
    assert Run.objects.count() == 0
    assert [p for p in tmp_path.iterdir() if p.suffix == ".upload"] == []


def test_an_upload_over_the_limit_is_413_and_leaves_nothing(
    demo, token, client, tmp_path, settings
):
    settings.UPLOAD_DIR, settings.UPLOAD_MAX_BYTES = tmp_path, 10_000
    response = upload(client, token, PEAK_PASS)
    assert response.status_code == 413
    assert "limit" in response.json()["error"]
    assert list(tmp_path.iterdir()) == []
    assert Run.objects.count() == 0


def test_a_token_is_refused_in_the_url_and_for_another_scope(demo, client, tmp_path, settings):
    settings.UPLOAD_DIR = tmp_path
    read_only = token_create(demo, name="ro", scopes=["readiness:read"])[1]
    assert upload(client, read_only, PEAK_PASS).status_code == 403
    response = client.post(f"/api/launches/whatsapp-saas/runs/?token={read_only}")
    assert response.status_code == 400


def test_an_upload_that_fails_to_parse_is_reported_on_the_run(
    demo, token, client, tmp_path, settings, django_capture_on_commit_callbacks
):
    settings.UPLOAD_DIR = tmp_path
    bad = tmp_path / "nan.ndjson"
    lines = PEAK_PASS.read_text().splitlines()
    point = next(i for i, line in enumerate(lines) if '"http_req_duration","type":"Point"' in line)
    lines[point] = lines[point].replace('"value":', '"value":NaN,"x":', 1)
    bad.write_text("\n".join(lines) + "\n")
    shutil.copy(bad, tmp_path / "keep.ndjson")
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(client, token, bad)
    run = client.get(response.json()["url"], headers={"Authorization": f"Bearer {token}"}).json()
    assert run["status"] == "failed"
    assert f"line {point + 1}" in run["error"]
    assert run["overall"] is None


@pytest.fixture
def clock(monkeypatch):
    """The quotas' clock, set by the test (a real minute could roll over mid-test)."""
    from types import SimpleNamespace

    from checklists.core import quotas

    now = {"t": timezone.now().replace(hour=12, minute=0, second=5, microsecond=0)}
    monkeypatch.setattr(quotas, "timezone", SimpleNamespace(now=lambda: now["t"]))
    return now


def test_an_upload_flood_from_one_token_is_told_to_wait(
    demo, token, client, tmp_path, settings, clock
):
    """reliability.md U12: per-token uploads per minute; refused before the body is stored."""
    settings.UPLOAD_DIR, settings.TOKEN_UPLOADS_PER_MINUTE = tmp_path / "up", 3
    empty = tmp_path / "empty.ndjson"
    empty.write_bytes(b"")
    codes = [upload(client, token, PEAK_PASS, test="peak").status_code]
    codes += [upload(client, token, empty).status_code for _ in range(2)]  # refused ones count
    assert codes == [202, 400, 400]
    runs = Run.objects.count()
    flood = upload(client, token, PEAK_FAIL, test="peak")
    assert flood.status_code == 429
    assert flood["Retry-After"] == "55"
    assert flood.json()["error"] == "this token may upload 3 files a minute; try again in 55 s"
    assert Run.objects.count() == runs
    kept = {Path(path).name for path in Run.objects.values_list("stored_path", flat=True)}
    assert {p.name for p in (tmp_path / "up").iterdir()} == kept  # the refused left no file
    other = token_create(demo, name="other ci", scopes=["runs:write"])[1]
    assert upload(client, other, PEAK_FAIL, test="peak").status_code == 202  # per token
    clock["t"] += timedelta(minutes=1)
    assert upload(client, token, PEAK_FAIL, test="peak").status_code == 202  # duplicate, 202


def test_a_token_over_its_daily_bytes_waits_for_the_next_day(
    demo, token, client, tmp_path, settings, clock
):
    settings.UPLOAD_DIR = tmp_path
    settings.TOKEN_UPLOAD_BYTES_PER_DAY = PEAK_PASS.stat().st_size  # one file's worth
    assert upload(client, token, PEAK_PASS, test="peak").status_code == 202
    over = upload(client, token, PEAK_FAIL, test="peak")
    assert over.status_code == 429
    assert "uploaded its" in over.json()["error"] and "for today" in over.json()["error"]
    assert int(over["Retry-After"]) == 12 * 3600 - 5
    clock["t"] += timedelta(days=1)
    assert upload(client, token, PEAK_FAIL, test="peak").status_code == 202


def test_an_uploaded_gzip_bomb_fails_at_the_decompression_limit(
    demo, token, client, tmp_path, settings, django_capture_on_commit_callbacks
):
    """reliability.md U2: 10 GiB of empty lines in a ~10 MiB upload; refused, nothing kept."""
    settings.UPLOAD_DIR = tmp_path
    member = gzip.compress(b"\n" * (16 << 20), compresslevel=9)
    bomb = tmp_path / "bomb.ndjson.gz"
    bomb.write_bytes(gzip.compress(PEAK_PASS.read_bytes()) + member * 640)
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(client, token, bomb)
    assert response.status_code == 202
    run = client.get(response.json()["url"], headers={"Authorization": f"Bearer {token}"}).json()
    assert run["status"] == "failed"
    assert "decompression limit" in run["error"]
    assert run["overall"] is None
    assert not RunSeries.objects.exists()
    assert list(tmp_path.iterdir()) == [bomb]  # the upload's own copy is gone


def _accepted(demo, tmp_path, settings, path=PEAK_PASS) -> Run:
    """An upload registered but not parsed (its task not sent yet)."""
    from metrics.services import content_sha256, run_accept_upload

    settings.UPLOAD_DIR = tmp_path
    stored = tmp_path / f"{path.name}.upload"
    shutil.copy(path, stored)
    ingested = run_accept_upload(
        demo, stored, sha256=content_sha256(path), size=stored.stat().st_size, test="peak",
        fmt="", filename=path.name, via="api", actor_name="token ci",
    )  # fmt: skip
    assert not ingested.duplicate
    return ingested.run


def test_a_run_a_live_worker_is_parsing_is_not_parsed_twice(demo, tmp_path, settings):
    from metrics.services import run_process

    run = _accepted(demo, tmp_path, settings)
    Run.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now())  # claimed, beating
    assert run_process(run.pk) is None
    assert Run.objects.get(pk=run.pk).status == "processing"
    settings.RUN_STALL_SECONDS = 60
    Run.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now() - timedelta(seconds=61))
    assert run_process(run.pk) is not None  # its worker is gone: taken over
    assert Run.objects.get(pk=run.pk).status == "done"
    assert Event.objects.filter(kind="run.ingested").count() == 1
    assert run_process(run.pk) is None  # done: a late duplicate task does nothing


def test_stalled_runs_are_queued_again_once_per_stall_period(
    demo, tmp_path, settings, django_capture_on_commit_callbacks
):
    from metrics.services import runs_requeue_stalled

    settings.RUN_STALL_SECONDS = 60
    run = _accepted(demo, tmp_path, settings)
    assert runs_requeue_stalled() == 0  # just queued: its task may simply be waiting
    long_ago = timezone.now() - timedelta(seconds=61)
    Run.objects.filter(pk=run.pk).update(heartbeat_at=long_ago, queued_at=long_ago)
    with django_capture_on_commit_callbacks(execute=True):  # the task runs (eager in tests)
        assert runs_requeue_stalled() == 1
    run.refresh_from_db()
    assert (run.status, run.overall["requests"]) == ("done", 57 + 4)
    assert runs_requeue_stalled() == 0
    beating = _accepted(demo, tmp_path, settings, PEAK_FAIL)
    Run.objects.filter(pk=beating.pk).update(heartbeat_at=timezone.now(), queued_at=long_ago)
    assert runs_requeue_stalled() == 0  # a worker is on it
    Run.objects.filter(pk=beating.pk).update(heartbeat_at=long_ago)
    assert runs_requeue_stalled() == 1  # ... until it stops beating


def test_a_parse_that_runs_out_of_time_fails_the_run_instead_of_retrying_it(
    demo, tmp_path, settings, monkeypatch
):
    from celery.exceptions import SoftTimeLimitExceeded

    from metrics import services, tasks

    run = _accepted(demo, tmp_path, settings)

    def too_slow(run_id):
        raise SoftTimeLimitExceeded()

    monkeypatch.setattr(services, "run_process", too_slow)
    tasks.ingest_run.apply(args=[run.pk])
    run.refresh_from_db()
    assert (run.status, run.stored_path) == ("failed", "")
    assert run.error.startswith("parsing took longer than 25 minutes")
    assert not list(tmp_path.glob("*.upload"))
    assert services.runs_requeue_stalled() == 0


# --- invalid runs and baselines ------------------------------------------------------------------
def test_an_invalid_run_stops_counting(deployed, client, django_user_model, tmp_path):
    ingest(PEAK_PASS, "--launch", "whatsapp-saas", "--test", "peak")
    failing = ingest(
        shifted(PEAK_FAIL, tmp_path, 1), "--launch", "whatsapp-saas", "--test", "peak"
    )["runs"][0]
    assert verdict(client)["verdict"] == "NO_GO"
    from checklists.models import Membership

    eve = django_user_model.objects.create_user("eve")
    Membership.objects.create(launch=deployed, user=eve, role="engineer")
    client.force_login(eve)
    response = client.post(
        f"/launches/whatsapp-saas/runs/{failing['id']}/invalidate/",
        {"reason": "load generator ran out of CPU"},
    )
    assert response.status_code == 302
    state = verdict(client)
    assert criterion(state, "peak-error-rate")["status"] == "pass"
    assert Run.objects.get(pk=failing["id"]).invalid_reason == "load generator ran out of CPU"


RELATIVE_PLAN = """
launch: {slug: rel, name: Relative, visibility: public}
load_tests: [{key: peak, title: Peak load}]
criteria:
  - {key: errors, title: Errors below 50%, test: peak, metric: http_req_failed, threshold: rate<0.5}
  - {key: p95-vs-baseline, title: p95 at most 10% above the baseline, test: peak,
     metric: http_req_duration, threshold: p(95)<=+10%}
"""


def test_a_relative_threshold_compares_with_the_last_passing_run_or_the_pinned_one(
    db, client, tmp_path
):
    from checklists.core.services import plan_import
    from checklists.engine.plan import load_plan
    from metrics.services import run_pin_baseline

    launch = plan_import(load_plan(RELATIVE_PLAN)).launch

    def state():
        data = client.get("/api/launches/rel/").json()
        return next(c for c in data["criteria"] if c["key"] == "p95-vs-baseline")

    first = run_ingest_cli(PEAK_PASS, "rel")
    assert state()["status"] == "pending"  # nothing to compare the first run with
    assert "is the first complete one: nothing earlier to compare with" in state()["why"]
    # The newest run pinned as the baseline: the page says so, not "there is no baseline".
    run_pin_baseline(Run.objects.get(pk=first["id"]), actor_name="test")
    assert state()["status"] == "pending"
    assert f"run #{first['id']} is the pinned baseline itself" in state()["why"]
    run_ingest_cli(shifted(PEAK_PASS, tmp_path, 1), "rel")
    assert state()["status"] == "pass"  # same p95 as the run before, which passed
    run_ingest_cli(shifted(PEAK_FAIL, tmp_path, 2), "rel")
    worse = state()
    assert worse["status"] == "fail"
    assert "baseline" in worse["threshold_text"]
    # Pinning the slow run as the baseline makes it the reference instead.
    slow = Run.objects.filter(launch=launch).latest("ended_at")
    run_pin_baseline(slow, actor_name="test")
    run_ingest_cli(shifted(PEAK_FAIL, tmp_path, 3), "rel")
    assert state()["status"] == "pass"
    assert first["id"] != slow.pk


def run_ingest_cli(path, slug) -> dict:
    return ingest(path, "--launch", slug, "--test", "peak")["runs"][0]
