"""A real InfluxDB 1.x server (Debian's `influxdb` package) for tests.

`running_influxdb()` starts `influxd` on free loopback ports (HTTP and the RPC bind-address, so
two test runs or a system service never collide) with its meta/data/wal directories in a
temporary folder and a generated config file, waits for `GET /ping` to answer 204, yields an
`InfluxServer`, and stops the process by its PID (SIGTERM, then SIGKILL after 10 s).

    with running_influxdb(auth=True) as influx:
        influx.url            # "http://127.0.0.1:PORT"
        influx.query("CREATE DATABASE k6")

With `auth=True` the server enforces authentication and an admin user (`influx.username`,
`influx.password`) is created first (InfluxDB allows that one unauthenticated statement while
no user exists). `influxd` missing raises `ServiceNotInstalled` naming the package to install.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

INSTALL_HINT = "influxd not found: install InfluxDB 1.x with `apt-get install -y influxdb` (Debian)"
START_TIMEOUT_S = 30.0


class ServiceNotInstalled(RuntimeError):
    """A binary a test needs is missing; the message says what to install."""


@dataclass
class InfluxServer:
    url: str
    pid: int
    log_path: Path
    username: str | None = None
    password: str | None = None

    def query(self, q: str, db: str | None = None, auth: bool = True) -> dict:
        """POST one InfluxQL statement (admin credentials when auth is on); return the JSON."""
        params = {"q": q, **({"db": db} if db else {})}
        body = urllib.parse.urlencode(params).encode()
        request = urllib.request.Request(f"{self.url}/query", data=body, method="POST")
        self._authorize(request, auth)
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def _authorize(self, request: urllib.request.Request, auth: bool = True) -> None:
        if auth and self.username:
            pair = f"{self.username}:{self.password or ''}".encode()
            request.add_header("Authorization", "Basic " + base64.b64encode(pair).decode())

    def write(self, db: str, lines: str, precision: str = "ms") -> None:
        """Write line protocol into `db` (used to seed data without k6)."""
        params = {"db": db, "precision": precision}
        url = f"{self.url}/write?{urllib.parse.urlencode(params)}"
        request = urllib.request.Request(url, data=lines.encode(), method="POST")
        self._authorize(request)
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 204, response.read()

    def create_reader(self, name: str, password: str, db: str) -> None:
        """A non-admin user that may only READ `db`."""
        self.query(f"CREATE USER \"{name}\" WITH PASSWORD '{password}'")
        self.query(f'GRANT READ ON "{db}" TO "{name}"')


def free_port() -> int:
    """A loopback port that was free a moment ago (the server binds it right after)."""
    return free_ports(1)[0]


def free_ports(count: int) -> list[int]:
    """`count` distinct loopback ports, all free a moment ago (held open together while picked)."""
    with contextlib.ExitStack() as stack:
        socks = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in socks]


def _config(root: Path, http_port: int, rpc_port: int, auth: bool) -> str:
    # Everything that would write outside `root` or open another port is turned off.
    return f"""
reporting-enabled = false
bind-address = "127.0.0.1:{rpc_port}"
[meta]
  dir = "{root}/meta"
  logging-enabled = false
[data]
  dir = "{root}/data"
  wal-dir = "{root}/wal"
  index-version = "inmem"
  query-log-enabled = false
[monitor]
  store-enabled = false
[subscriber]
  enabled = false
[continuous_queries]
  enabled = false
[http]
  enabled = true
  bind-address = "127.0.0.1:{http_port}"
  auth-enabled = {"true" if auth else "false"}
  log-enabled = false
  pprof-enabled = false
[logging]
  level = "warn"
  suppress-logo = true
"""


def _ping(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/ping", timeout=1) as response:
            return response.status == 204
    except (urllib.error.URLError, OSError):
        return False


def _wait_ready(proc: subprocess.Popen, url: str, log_path: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"influxd exited with {proc.returncode}: {_tail(log_path)}")
        if _ping(url):
            return
        time.sleep(0.1)
    raise RuntimeError(
        f"influxd did not answer /ping within {START_TIMEOUT_S} s: {_tail(log_path)}"
    )


def _tail(path: Path, size: int = 2000) -> str:
    try:
        return path.read_text(errors="replace")[-size:]
    except OSError:
        return "(no log)"


def stop_pid(proc: subprocess.Popen, grace_s: float = 10.0) -> None:
    """Stop one process we started, by its PID: SIGTERM, then SIGKILL."""
    if proc.poll() is not None:
        return
    os.kill(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=grace_s)


def _start(root: Path, auth: bool) -> tuple[subprocess.Popen, str, Path]:
    binary = shutil.which("influxd")
    if binary is None:
        raise ServiceNotInstalled(INSTALL_HINT)
    http_port, rpc_port = free_ports(2)
    config = root / "influxdb.conf"
    config.write_text(_config(root, http_port, rpc_port, auth))
    log_path = root / "influxd.log"
    url = f"http://127.0.0.1:{http_port}"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [binary, "run", "-config", str(config)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            # INFLUXDB_* variables would override the generated config: drop the host's.
            env={
                **{k: v for k, v in os.environ.items() if not k.startswith("INFLUXDB_")},
                "INFLUXDB_REPORTING_DISABLED": "true",
            },
        )
    try:
        _wait_ready(proc, url, log_path)
    except BaseException:
        stop_pid(proc)
        raise
    return proc, url, log_path


@contextlib.contextmanager
def running_influxdb(*, auth: bool = False) -> Iterator[InfluxServer]:
    """Start a throwaway influxd; see the module docstring."""
    with tempfile.TemporaryDirectory(prefix="influxd-") as tmp:
        root = Path(tmp)
        # Two tries: a port picked by free_port() may be taken before influxd binds it.
        try:
            proc, url, log_path = _start(root, auth)
        except RuntimeError as first:
            if isinstance(first, ServiceNotInstalled):
                raise
            proc, url, log_path = _start(root, auth)
        try:
            server = InfluxServer(url=url, pid=proc.pid, log_path=log_path)
            if auth:
                server.query("CREATE USER admin WITH PASSWORD 'admin-secret' WITH ALL PRIVILEGES")
                server.username, server.password = "admin", "admin-secret"
            yield server
        finally:
            stop_pid(proc)
