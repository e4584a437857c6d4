"""Run the real server (`manage.py serve`, daphne) as a subprocess for end-to-end tests.

Embedded mode by default: a fresh SQLite file in a temporary directory, whatever the test run's
own DATABASE_URL is, so the server never touches the test database.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CLEARED = ("DATABASE_URL", "REDIS_URL", "LAUNCHBOARD_SECRET_KEY", "DJANGO_SETTINGS_MODULE")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    url: str
    port: int
    env: dict
    data_dir: Path
    process: subprocess.Popen | None = None
    log: Path = field(default=None)

    def manage(self, *args, check=True, timeout=120) -> subprocess.CompletedProcess:
        """Run a management command against this server's database (a separate process)."""
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=check,
        )

    def start(self, timeout: float = 30, args: tuple = ()) -> None:
        self.log = self.data_dir / "server.log"
        out = self.log.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "serve", "--port", str(self.port), *args],
            cwd=ROOT,
            env=self.env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        wait_for_http(f"{self.url}/healthz", timeout, self.process, self.log)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.process = None

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(5)
        self.process = None


def wait_for_http(url: str, timeout: float, process=None, log=None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"server exited ({process.returncode}): {_tail(log)}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"server at {url} did not answer within {timeout} s: {_tail(log)}")


def _tail(log) -> str:
    return log.read_text()[-2000:] if log and log.exists() else ""


@contextmanager
def running_server(extra_env: dict | None = None, demo: bool = True, start: bool = True):
    with tempfile.TemporaryDirectory(prefix="launchboard-e2e-") as tmp:
        port = free_port()
        env = {k: v for k, v in os.environ.items() if k not in CLEARED}
        env |= {"LAUNCHBOARD_DATA_DIR": tmp, "PORT": str(port), "PYTHONUNBUFFERED": "1"}
        env |= extra_env or {}
        server = Server(f"http://127.0.0.1:{port}", port, env, Path(tmp))
        server.manage("migrate", "--noinput")
        if demo:
            server.manage("import_plan", "checklists/plans/whatsapp-saas.yaml")
        try:
            if start:
                server.start()
            yield server
        finally:
            server.stop()
