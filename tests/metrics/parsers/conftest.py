"""Shared fixtures: the real tools, one real k6 run and one real Locust run per session."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.support.target import running_target
from tests.support.tools import find_k6, locust_cmd

HERE = Path(__file__).resolve().parent
FIXTURES = HERE.parents[1] / "fixtures"
TREND_STATS = "avg,min,med,max,p(90),p(95),p(99)"


@pytest.fixture(scope="session")
def k6_run(tmp_path_factory):
    """Run tests/metrics/parsers/k6_mixed.js once: NDJSON (plain and .gz), the summary export
    and a handleSummary dump. Returns a dict of paths."""
    k6 = find_k6()
    out = tmp_path_factory.mktemp("k6run")
    paths = {
        "ndjson": out / "run.ndjson",
        "gz": out / "run.ndjson.gz",
        "export": out / "export.json",
        "handle": out / "handle.json",
    }
    with running_target() as target:
        cmd = [
            k6,
            "run",
            "--quiet",
            "--no-color",
            "-e",
            f"BASE={target.url}",
            "-e",
            f"SUMMARY_JSON={paths['handle']}",
            "--out",
            f"json={paths['ndjson']}",
            "--out",
            f"json={paths['gz']}",
            "--summary-export",
            str(paths["export"]),
            "--summary-trend-stats",
            TREND_STATS,
            str(HERE / "k6_mixed.js"),
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert proc.returncode in (0, 99), f"k6 exited {proc.returncode}: {proc.stderr[-3000:]}"
    return paths


@pytest.fixture(scope="session")
def locust_run(tmp_path_factory):
    """Run tests/metrics/parsers/locustfile.py headless for 3 s with --csv; returns the prefix."""
    out = tmp_path_factory.mktemp("locust")
    prefix = out / "run"
    with running_target() as target:
        cmd = [
            *locust_cmd(),
            "-f",
            str(HERE / "locustfile.py"),
            "--headless",
            "-u",
            "4",
            "-r",
            "4",
            "-t",
            "3s",
            "-H",
            target.url,
            "--csv",
            str(prefix),
            "--only-summary",
            "--loglevel",
            "WARNING",
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60, cwd=out)
    assert proc.returncode in (0, 1), f"locust exited {proc.returncode}: {proc.stderr[-3000:]}"
    return prefix
