"""moto's server mode (`moto[server]`) as a real HTTP endpoint on loopback, for boto3 tests.

`running_moto_server()` starts the `moto_server` CLI (the one installed next to the running
Python, else the one on PATH) on a free 127.0.0.1 port as a child process, waits until it
answers, yields a `MotoServer` and stops it by its PID. A separate process rather than
moto's in-process ThreadedMotoServer, so that moto's settings (read from the environment at
import) can differ per server: `auth=True` sets INITIAL_NO_AUTH_ACTION_COUNT=0, which makes moto
check every request's access key against its IAM users and refuse unknown ones.

    with running_moto_server() as moto:
        boto3.session.Session(**FAKE_CREDENTIALS).client("cloudwatch", endpoint_url=moto.url)
        moto.reset()        # forget every resource between tests

Pins known to work together: boto3 == botocore == 1.44.8 with moto[server] == 5.2.5.
(CloudWatch's model lists smithy-rpc-v2-cbor first, but botocore 1.44.8 resolves it by its own
priority and speaks awsJson1_0; moto 5.2.5 serves that.) moto 5.2.5 cannot serve
get_metric_data with a percentile Stat ("p95": server-side TypeError), returns an empty result
for metric math, fails put_composite_alarm with HTTP 500, and answers errors in XML, which
botocore cannot read for this protocol (it reports the HTTP status as the error code).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.support.influxdb import ServiceNotInstalled, free_port, stop_pid

INSTALL_HINT = "moto_server not found: install it with `pip install 'moto[server]==5.2.5'`"
START_TIMEOUT_S = 30.0
REGION = "us-east-1"
# moto accepts any keys unless auth=True; these are obviously fake and never leave loopback.
FAKE_CREDENTIALS = {
    "aws_access_key_id": "testing",
    "aws_secret_access_key": "testing",
    "region_name": REGION,
}
FAKE_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_REGION": REGION,
}


@dataclass
class MotoServer:
    url: str
    pid: int
    log_path: Path

    def reset(self) -> None:
        """Drop every resource moto holds (metrics, alarms)."""
        request = urllib.request.Request(f"{self.url}/moto-api/reset", method="POST", data=b"")
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200


def _binary() -> str:
    beside_python = Path(sys.executable).with_name("moto_server")
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which("moto_server")
    if found is None:
        raise ServiceNotInstalled(INSTALL_HINT)
    return found


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/moto-api/", timeout=1) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def _start(log_path: Path, auth: bool) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "INITIAL_NO_AUTH_ACTION_COUNT"}
    env["MOTO_PORT"] = str(port)
    if auth:
        env["INITIAL_NO_AUTH_ACTION_COUNT"] = "0"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [_binary(), "-H", "127.0.0.1", "-p", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"moto_server exited with {proc.returncode}: {_tail(log_path)}")
        if _ready(url):
            return proc, url
        time.sleep(0.1)
    stop_pid(proc)
    raise RuntimeError(f"moto_server did not answer within {START_TIMEOUT_S} s")


def _tail(path: Path) -> str:
    return path.read_text(errors="replace")[-2000:]


@contextlib.contextmanager
def running_moto_server(*, auth: bool = False) -> Iterator[MotoServer]:
    """Start a throwaway moto_server; see the module docstring."""
    with tempfile.TemporaryDirectory(prefix="moto-") as tmp:
        log_path = Path(tmp) / "moto.log"
        proc, url = _start(log_path, auth)
        try:
            yield MotoServer(url=url, pid=proc.pid, log_path=log_path)
        finally:
            stop_pid(proc)
