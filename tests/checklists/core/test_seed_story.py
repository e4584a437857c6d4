"""The seed's story with the real k6: a peak test against an exhausted pool turns the demo
launch NO GO; the re-test after the fix (a bigger pool) flips the criteria to pass."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

import orjson
import pytest
from django.core.management import call_command
from django.utils import timezone

from checklists.core.services import task_move
from checklists.models import Task
from tests.support.target import running_target
from tests.support.tools import run_k6

SCRIPT = Path(__file__).with_name("peak_db.js")
pytestmark = pytest.mark.slow


def peak_run(tmp_path, target, pool: int) -> tuple[Path, dict]:
    ndjson, summary = tmp_path / f"peak-{pool}.ndjson", tmp_path / f"peak-{pool}.summary.json"
    run_k6(
        SCRIPT,
        env={"BASE": target.url, "POOL": pool},
        out=[f"json={ndjson}"],
        extra=["--summary-export", str(summary)],
    )
    return ndjson, orjson.loads(summary.read_bytes())


def ingest(path) -> dict:
    out = io.StringIO()
    call_command(
        "ingest_results",
        str(path),
        "--launch",
        "whatsapp-saas",
        "--test",
        "peak",
        "--json",
        stdout=out,
    )
    return orjson.loads(out.getvalue())["runs"][0]


def test_the_re_test_after_the_fix_flips_no_go_to_pass(demo, client, tmp_path):
    task_move(Task.objects.get(launch=demo, key="deploy-staging"), status="done")
    Task.objects.filter(launch=demo, key="deploy-staging").update(
        done_at=timezone.now() - timedelta(minutes=5)
    )
    with running_target() as target:
        before, before_summary = peak_run(tmp_path, target, pool=3)
        after, after_summary = peak_run(tmp_path, target, pool=60)

    run = ingest(before)
    # The same figures k6 printed itself: counts exactly, p95 within 1%.
    assert run["overall"]["requests"] == before_summary["metrics"]["http_reqs"]["count"]
    assert run["overall"]["failed"] == before_summary["metrics"]["http_req_failed"]["passes"]
    assert run["overall"]["p95_ms"] == pytest.approx(
        before_summary["metrics"]["http_req_duration"]["p(95)"], rel=0.01
    )
    state = client.get("/api/launches/whatsapp-saas/").json()
    error_rate = next(c for c in state["criteria"] if c["key"] == "peak-error-rate")
    assert state["verdict"] == "NO_GO"
    assert error_rate["status"] == "fail"
    assert (
        f"Peak load error rate {error_rate['observed_text']} is not below 1%."
        in (state["blockers"])
    )

    run = ingest(after)
    assert run["overall"]["requests"] == after_summary["metrics"]["http_reqs"]["count"]
    state = client.get("/api/launches/whatsapp-saas/").json()
    statuses = {c["key"]: c["status"] for c in state["criteria"]}
    assert statuses["peak-error-rate"] == statuses["peak-p95"] == "pass"
    assert state["verdict"] == "PENDING"  # the rest of the plan is still to do
