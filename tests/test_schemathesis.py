"""S9: schemathesis against /api/openapi.json on the real server: no server errors, responses
as documented, and no endpoint that ignores authentication it declares."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.server import running_server

pytestmark = pytest.mark.slow
CHECKS = (
    "not_a_server_error,ignored_auth,status_code_conformance,content_type_conformance,"
    "response_schema_conformance"
)


def schemathesis() -> list[str]:
    binary = shutil.which("st") or str(Path(sys.executable).with_name("st"))
    if not Path(binary).exists():
        pytest.fail("schemathesis is not installed: pip install schemathesis", pytrace=False)
    return [binary]


def test_s9_schemathesis_finds_no_server_error_and_no_ignored_auth(tmp_path):
    with running_server() as server:
        token = server.manage("create_token", "whatsapp-saas", "--expires", "1d").stdout.strip()
        for headers in ([f"Authorization: Bearer {token}"], []):
            cmd = [
                *schemathesis(),
                "run",
                f"{server.url}/api/openapi.json",
                "--checks",
                CHECKS,
                "--max-examples",
                "25",
                "--seed",
                "1",
                "--request-timeout",
                "10",
            ]
            for header in headers:
                cmd += ["-H", header]
            result = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=tmp_path)
            assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
            assert "not_a_server_error" not in result.stdout.split("FAILURES")[-1] or (
                "FAILURES" not in result.stdout
            )
