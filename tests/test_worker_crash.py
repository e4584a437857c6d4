"""reliability.md T1: the process parsing an upload is killed (-9) mid-parse. Here it is the
embedded server (`manage.py serve`: web, Celery worker and beat in one process, an in-memory
broker), the hardest case: the queued task dies with it. After a restart the run is queued again
once its heartbeat is older than LAUNCHBOARD_RUN_STALL_SECONDS and ends done exactly once, with
every request counted."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from metrics.parsers import parse_file
from tests.support.server import running_server
from tests.support.uploads import post_run

ROOT = Path(__file__).resolve().parent.parent


def _three_million_lines(tmp_path: Path) -> tuple[Path, int]:
    """A 3 M-line k6 result (gzip) and the requests it holds."""
    big = tmp_path / "peak.ndjson.gz"
    subprocess.run(
        [sys.executable, str(ROOT / "bench" / "gen_k6.py"), str(big), "3000000"],
        check=True,
        capture_output=True,
    )
    return big, parse_file(big).overall.requests


def _upload(server, token: str, path: Path) -> dict:
    status, body = post_run(server.url, token, path)
    assert status == 202, body
    return body


def _run(server, token: str, run_id: int) -> dict:
    request = urllib.request.Request(
        f"{server.url}/api/runs/{run_id}/", headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def test_a_run_whose_worker_was_killed_mid_parse_is_finished_exactly_once(tmp_path):
    big, expected = _three_million_lines(tmp_path)
    env = {"LAUNCHBOARD_RUN_STALL_SECONDS": "3", "LAUNCHBOARD_SWEEP_SECONDS": "1"}
    with running_server(extra_env=env) as server:
        token = server.manage("create_token", "whatsapp-saas", "--scope", "runs:write",
                              "--scope", "readiness:read").stdout.strip()  # fmt: skip
        run_id = _upload(server, token, big)["id"]
        deadline = time.monotonic() + 30
        while (progress := _run(server, token, run_id)["progress"].get("percent") or 0) == 0:
            assert time.monotonic() < deadline, "parsing never started"
            time.sleep(0.05)
        server.kill()  # -9, mid-parse: the in-memory queue and the task die with it
        assert progress < 100

        server.start()
        deadline = time.monotonic() + 90
        while (run := _run(server, token, run_id))["status"] == "processing":
            assert time.monotonic() < deadline, f"the run never finished: {run['progress']}"
            time.sleep(0.5)
        assert run["status"] == "done"
        assert run["overall"]["requests"] == expected
        counts = server.manage(
            "shell", "-v", "0", "-c",
            "from checklists.models import Event; from metrics.models import Run; "
            "print(Run.objects.count(), Event.objects.filter(kind='run.ingested').count())",
        ).stdout.splitlines()[-1].split()  # fmt: skip
        assert counts == ["1", "1"]  # one run, recorded once
        assert "had stalled" in server.log.read_text()


def test_a_killed_pool_child_s_run_is_taken_over_at_once(tmp_path):
    """T1a: production's prefork worker; the child parsing an upload is killed (-9). Celery
    redelivers its task at once, and the task takes the run over at once (its claimant, a
    process of this host, is gone) instead of waiting for the stall sweep. Exactly once."""
    import os
    import signal

    import psycopg

    from tests.support.production import production_stack

    big, expected = _three_million_lines(tmp_path)
    with production_stack(worker=False) as stack:
        stack.start_worker(pool="prefork", concurrency=2)
        token = stack.manage("create_token", "whatsapp-saas", "--scope", "runs:write",
                             "--scope", "readiness:read").stdout.strip()  # fmt: skip
        status, body = post_run(stack.url, token, big)
        assert status == 202, body
        run_id = body["id"]
        with psycopg.connect(stack.env["DATABASE_URL"], autocommit=True) as db:

            def claim():
                return db.execute(
                    "SELECT claimed_by, (progress->>'percent')::float, status FROM metrics_run "
                    "WHERE id = %s",
                    [run_id],
                ).fetchone()

            deadline = time.monotonic() + 60
            while not ((row := claim())[0] and (row[1] or 0) > 0):
                assert time.monotonic() < deadline, f"parsing never started: {row}"
                time.sleep(0.05)
            first = row[0]
            os.kill(int(first.rsplit(":", 1)[1]), signal.SIGKILL)
            killed = time.monotonic()
            while (row := claim())[0] == first and row[2] == "processing":
                assert time.monotonic() - killed < 60, "nobody took the run over"
                time.sleep(0.02)
            taken_over = time.monotonic() - killed
            deadline = time.monotonic() + 120
            while claim()[2] == "processing":
                assert time.monotonic() < deadline, "the run never finished"
                time.sleep(0.2)
        assert taken_over <= 2.0, (
            f"taken over {taken_over:.2f} s after the kill; worker log:\n"
            + stack.log("worker")[-2000:]
        )
        run = _run(stack, token, run_id)
        assert run["status"] == "done" and run["overall"]["requests"] == expected
        counts = stack.manage(
            "shell", "-v", "0", "-c",
            "from checklists.models import Event; from metrics.models import Run; "
            "print(Run.objects.count(), Event.objects.filter(kind='run.ingested').count())",
        ).stdout.splitlines()[-1].split()  # fmt: skip
        assert counts == ["1", "1"]
        assert "taking it over" in stack.log("worker")
