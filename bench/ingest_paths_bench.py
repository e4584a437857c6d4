"""The paths a user takes to ingest a k6 result, against a bare orjson loop over the same file
in the same run (issue 9, item 6):

  cli                 `manage.py ingest_results FILE --launch whatsapp-saas --test peak`
                      (the whole command: start-up, hash, parse, store), embedded settings
  upload_embedded     `curl -F file=@FILE` to POST /api/launches/whatsapp-saas/runs/ of a
                      `manage.py serve` as `make run` starts it, until GET /api/runs/<id>/ says
                      done (the embedded worker parses inside the server process)
  upload_production   the same against the production topology: `manage.py serve` on
                      PostgreSQL and Redis, and a Celery worker process

    .venv/bin/python bench/ingest_paths_bench.py [--lines 2000000] [--repeat 3]
                     [--modes cli upload_embedded upload_production] [--doc PATH]

The baseline is `bench/ingest_bench.py orjson FILE` (decode every line), timed the same way
(the whole process, start to end). Modes are interleaved; medians are compared. Targets: the
CLI and a production upload at least 1.2x the baseline, an upload to `make run` at least 0.8x.
Servers listen on 127.0.0.1 and are stopped by their PIDs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.production import postgres_database, redis_server, stop  # noqa: E402
from tests.support.server import free_port, wait_for_http  # noqa: E402

TARGETS = {"cli": 1.2, "upload_embedded": 0.8, "upload_production": 1.2}
CELERY = [sys.executable, "-m", "celery", "-A", "launchboard"]
QUIET = ["--without-gossip", "--without-mingle"]
CURL = ["curl", "-s"]
TEST = ["-F", "test=peak"]
FORGET = "from metrics.models import Run; Run.objects.all().delete()"


class Place:
    """A database (and maybe a server) to ingest into; `forget()` lets the same file in again."""

    def __init__(self, env: dict, workdir: Path):
        self.env, self.workdir, self.procs, self.url, self.token = env, workdir, {}, "", ""

    def manage(self, *args, timeout=600) -> str:
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            check=True,
            timeout=timeout,
        ).stdout

    def prepare(self) -> None:
        self.manage("migrate", "--noinput")
        self.manage("import_plan", "checklists/plans/whatsapp-saas.yaml")
        scopes = ["--scope", "runs:write", "--scope", "readiness:read"]
        out = self.manage("create_token", "whatsapp-saas", *scopes)
        self.token = next(w for w in out.replace(":", " ").split() if w.startswith("lb_"))

    def serve(self, worker: bool) -> None:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self._spawn("web", [sys.executable, "manage.py", "serve", "--port", str(port)])
        if worker:
            self._spawn(
                "worker",
                [*CELERY, "worker", "--pool", "solo", "--loglevel", "WARNING", *QUIET],
            )
        wait_for_http(f"{self.url}/healthz", 60, self.procs["web"], self.workdir / "web.log")

    def _spawn(self, name, cmd) -> None:
        log = (self.workdir / f"{name}.log").open("ab")
        self.procs[name] = subprocess.Popen(cmd, cwd=ROOT, env=self.env, stdout=log, stderr=log)

    def forget(self) -> None:
        self.manage("shell", "-c", FORGET)

    def stop(self) -> None:
        for proc in self.procs.values():
            stop(proc)


@contextmanager
def place(kind: str):
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix=f"lb-{kind}-")))
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_"))}
        env.pop("LAUNCHBOARD_SECRET_KEY", None)
        env |= {"LAUNCHBOARD_DATA_DIR": str(workdir), "PYTHONUNBUFFERED": "1"}
        if kind == "production":
            env["DATABASE_URL"] = stack.enter_context(postgres_database("lb_ingest"))
            env["REDIS_URL"] = stack.enter_context(redis_server()).url
            env["LAUNCHBOARD_SECRET_KEY"] = "bench-" + "x" * 60
        p = Place(env, workdir)
        p.prepare()
        try:
            yield p
        finally:
            p.stop()


def timed(cmd: list[str], env=None) -> tuple[float, str]:
    started = time.perf_counter()
    out = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    return time.perf_counter() - started, out.stdout


def upload(p: Place, path: Path) -> tuple[float, dict]:
    """Seconds from the first byte sent to the run being done, and the run."""
    url = f"{p.url}/api/launches/whatsapp-saas/runs/"
    started = time.perf_counter()
    out = subprocess.run(
        [*CURL, "-H", f"Authorization: Bearer {p.token}", "-F", f"file=@{path}", *TEST, url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    run = json.loads(out)
    request = urllib.request.Request(
        f"{p.url}/api/runs/{run['id']}/", headers={"Authorization": f"Bearer {p.token}"}
    )
    while run["status"] == "processing":
        time.sleep(0.02)
        with urllib.request.urlopen(request, timeout=30) as response:
            run = json.load(response)
    return time.perf_counter() - started, run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=2_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--modes", nargs="+", default=list(TARGETS))
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out")
    parser.add_argument("--doc", default=str(ROOT / "docs" / "benchmarks" / "ingest-paths.md"))
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "bench"))
    from ingest_bench import ensure_file

    path = ensure_file(args.out, args.lines)
    times: dict[str, list[float]] = {"orjson": [], **{m: [] for m in args.modes}}
    runs: dict[str, dict] = {}
    with ExitStack() as stack:
        embedded = stack.enter_context(place("embedded"))
        if "upload_embedded" in args.modes:
            embedded.serve(worker=False)
        production = None
        if "upload_production" in args.modes:
            production = stack.enter_context(place("production"))
            production.serve(worker=True)
        orjson_cmd = [sys.executable, str(ROOT / "bench" / "ingest_bench.py"), "orjson", str(path)]
        for rep in range(args.repeat):
            times["orjson"].append(timed(orjson_cmd)[0])
            print(f"#{rep + 1} orjson {times['orjson'][-1]:.2f} s", flush=True)
            for mode in args.modes:
                seconds, run = measure(mode, embedded, production, path)
                times[mode].append(seconds)
                runs[mode] = run
                print(f"#{rep + 1} {mode} {seconds:.2f} s", flush=True)
    write(args, path, times, runs)


def measure(mode: str, embedded: Place, production: Place | None, path: Path):
    if mode == "cli":
        cmd = [sys.executable, "manage.py", "ingest_results", str(path)]
        cmd += ["--launch", "whatsapp-saas", "--test", "peak", "--json"]
        seconds, out = timed(cmd, embedded.env)
        run = json.loads(out)["runs"][0]
        embedded.forget()
        return seconds, run
    target = embedded if mode == "upload_embedded" else production
    seconds, run = upload(target, path)
    target.forget()
    return seconds, run


def write(args, path: Path, times: dict, runs: dict) -> None:
    base = statistics.median(times["orjson"])
    rows, verdicts = [], []
    for mode, values in times.items():
        med = statistics.median(values)
        ratio = base / med
        rows.append(
            f"| {mode} | {med:.2f} s | {ratio:.2f}x | {', '.join(f'{v:.2f}' for v in values)} |"
        )
        if mode in TARGETS:
            met = ratio >= TARGETS[mode]
            verdicts.append(
                f"| {mode} ≥ {TARGETS[mode]}x the orjson loop | {ratio:.2f}x | "
                + ("**met**" if met else "**NOT met**")
                + " |"
            )
    counts = ", ".join(f"{m} {r['overall']['requests']:,}" for m, r in runs.items())
    lines = [
        "# Ingest paths: a k6 result from a terminal and through the API",
        "",
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}; file `{path.name}` ({path.stat().st_size / 1e6:,.0f} MB, "
        f"{args.lines:,} lines of bench/gen_k6.py). Command: "
        f"`.venv/bin/python bench/ingest_paths_bench.py --lines {args.lines} "
        f"--repeat {args.repeat}`.",
        "",
        "Each time is the whole path as a user sees it: the command from start to exit, or an "
        "upload from its first byte to the run reported done. The baseline decodes every line "
        "with orjson in a fresh process. Speed-up = baseline time / path time (medians).",
        "",
        "| path | median | speed-up | all runs (s) |",
        "|---|---|---|---|",
        *rows,
        "",
        "| target | measured | |",
        "|---|---|---|",
        *verdicts,
        "",
        f"Requests counted by each path (the file holds 171,874 at 2 M lines): {counts}.",
        "",
    ]
    doc = Path(args.doc)
    kept = ""
    if doc.exists() and "\n## Analysis" in doc.read_text():
        text = doc.read_text()
        kept = text[text.index("\n## Analysis") :]
    doc.write_text("\n".join(lines) + kept)
    print(f"report: {doc}")


if __name__ == "__main__":
    main()
