"""The production topology as plain processes: a throwaway PostgreSQL database, a private
redis-server (so a test may stop and restart it), web (daphne or uvicorn) and a Celery worker.

    with production_stack() as stack:
        stack.url, stack.manage("readiness", "whatsapp-saas"), stack.redis.stop() ...

PostgreSQL is the machine's server (LAUNCHBOARD_TEST_POSTGRES, default
postgres://postgres@127.0.0.1:5432/postgres); each stack gets its own database, dropped after.
Every process is stopped by its PID.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.server import ROOT, free_port, wait_for_http

ADMIN_URL = os.environ.get(
    "LAUNCHBOARD_TEST_POSTGRES", "postgres://postgres@127.0.0.1:5432/postgres"
)


def stop(proc: subprocess.Popen | None, grace: float = 10.0) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


@contextmanager
def postgres_database(prefix: str = "lb_e2e"):
    """A fresh database on the machine's PostgreSQL; yields its URL."""
    import psycopg

    name = f"{prefix}_{secrets.token_hex(4)}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class RedisServer:
    port: int
    workdir: Path
    proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is missing: apt-get install -y redis-server")
        self.proc = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
                "--maxclients",
                "10000",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self._ping():
                return
            time.sleep(0.05)
        raise RuntimeError(f"redis-server on port {self.port} did not start")

    def stop(self) -> None:
        stop(self.proc)
        self.proc = None

    def _ping(self) -> bool:
        import socket

        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False


@contextmanager
def redis_server():
    with tempfile.TemporaryDirectory(prefix="lb-redis-") as tmp:
        server = RedisServer(free_port(), Path(tmp))
        server.start()
        try:
            yield server
        finally:
            server.stop()


WEB_COMMANDS = {
    "daphne": lambda port: [
        sys.executable,
        "-m",
        "daphne",
        "-b",
        "127.0.0.1",
        "-p",
        str(port),
        "launchboard.asgi:application",
    ],
    "uvicorn": lambda port: [
        sys.executable,
        "-m",
        "uvicorn",
        "launchboard.asgi:application",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--no-access-log",
        "--log-level",
        "warning",
        "--ws-per-message-deflate",
        "false",
        "--ws-max-size",
        "65536",
    ],
}


@dataclass
class Stack:
    url: str
    port: int
    env: dict
    redis: RedisServer
    data_dir: Path
    server: str
    processes: dict = field(default_factory=dict)

    def manage(self, *args, check=True, timeout=120) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=check,
        )

    def spawn(self, name: str, cmd: list[str]) -> subprocess.Popen:
        log = (self.data_dir / f"{name}.log").open("ab")
        proc = subprocess.Popen(cmd, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        self.processes[name] = proc
        return proc

    def start_web(self) -> None:
        self.spawn("web", WEB_COMMANDS[self.server](self.port))
        wait_for_http(f"{self.url}/healthz", 30, self.processes["web"], self.data_dir / "web.log")

    def start_worker(self, pool: str = "solo", concurrency: int = 1) -> None:
        self.spawn(
            "worker",
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "launchboard",
                "worker",
                "--concurrency",
                str(concurrency),
                "--pool",
                pool,
                "--loglevel",
                "WARNING",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
        )

    def start_beat(self) -> None:
        self.spawn(
            "beat",
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "launchboard",
                "beat",
                "--scheduler",
                "django_celery_beat.schedulers:DatabaseScheduler",
                "--loglevel",
                "WARNING",
                "--schedule",
                str(self.data_dir / "beat-schedule"),
            ],
        )

    def log(self, name: str) -> str:
        path = self.data_dir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def get(self, path: str) -> int:
        try:
            with urllib.request.urlopen(f"{self.url}{path}", timeout=5) as response:
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code


@contextmanager
def production_stack(
    server: str = "uvicorn",
    worker: bool = True,
    demo: bool = True,
    beat: bool = False,
    extra_env: dict | None = None,
):
    with (
        postgres_database() as db_url,
        redis_server() as redis,
        tempfile.TemporaryDirectory(prefix="lb-prod-") as tmp,
    ):
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_"))}
        env |= {
            "DATABASE_URL": db_url,
            "REDIS_URL": redis.url,
            "LAUNCHBOARD_SECRET_KEY": secrets.token_urlsafe(60),
            "LAUNCHBOARD_DATA_DIR": tmp,
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "PYTHONUNBUFFERED": "1",
            "DJANGO_SETTINGS_MODULE": "launchboard.settings",
        }
        env |= extra_env or {}
        stack = Stack(f"http://127.0.0.1:{port}", port, env, redis, Path(tmp), server)
        stack.manage("migrate", "--noinput")
        if demo:
            stack.manage("import_plan", "checklists/plans/whatsapp-saas.yaml")
        try:
            stack.start_web()
            if worker:
                stack.start_worker()
            if beat:
                stack.start_beat()
            yield stack
        finally:
            for proc in stack.processes.values():
                stop(proc)
