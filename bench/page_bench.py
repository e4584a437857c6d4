"""Launchboard on its own launch day: the status page and the readiness API under 500 readers,
against nginx serving the same bytes in the same run (issue 9).

    .venv/bin/python bench/page_bench.py                     # both modes, about 25 minutes
    .venv/bin/python bench/page_bench.py --modes embedded --duration 20 --short 10   # a look
Options: --modes embedded production, --duration 60 (runs with think time and launch day),
--short 30 (runs without think time), --repeat 1, --web-workers 2 (production),
--scenarios (a subset, see SCENARIOS), --tree PATH (serve another checkout, e.g. the commit
before a change, with this checkout's scripts), --label, --out bench/out/page,
--doc docs/benchmarks/page.md (with --tree or a subset: --doc '' to keep the doc),
--no-proxy (production without nginx in front).

For each mode it starts the system under test from a fresh database with the demo launch:
  embedded    `manage.py serve` as `make run` runs it (SQLite, in-memory layer, worker inside)
  production  a fresh PostgreSQL database, a private redis-server, `manage.py serve --workers N`
              (uvicorn), a Celery worker and a Celery beat, each a plain process, and nginx in
              front with the configuration docker-compose.yml ships (launchboard/deploy/: a
              one-second micro-cache for anonymous reads); the reads are measured through it
              (the topology) and straight on uvicorn ("direct", for reference)
then copies the status page and the readiness JSON it serves to anonymous readers into an nginx
root and starts nginx (2 workers, sendfile, no access log) beside it. Each scenario runs k6
(bench/k6/page.js) against nginx, then against Launchboard, --repeat times, interleaved:
  page_think  500 VUs, GET the status page, sleep(1)      (the seed's launch criterion)
  page_busy   500 VUs, GET the status page, no think time
  page_10     10 VUs, no think time                        (for "no collapse at 500")
  api_think / api_busy / api_10: the same on the readiness API
and then launch_day (bench/k6/launch_day.js, against Launchboard only): 80% viewers holding the
WebSocket, 15% pollers with ETag, 5% signed-in engineers ticking and uploading, with the change-to-
page latency measured on every page; PostgreSQL connections (by application_name) and the
server processes' memory are sampled meanwhile. Render cost per change is measured in-process
first, on the quiet machine (bench/render_bench.py), and added to the report.
Every server listens on 127.0.0.1 and is stopped by its PID; every k6 run is bounded in time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.production import postgres_database, redis_server, stop  # noqa: E402
from tests.support.proxy import main_conf, nginx_binary, nginx_in_front  # noqa: E402
from tests.support.server import free_port, wait_for_http  # noqa: E402

K6 = ROOT / ".venv" / "bin" / "k6"
SLUG = "whatsapp-saas"
PAGE, API = f"/launches/{SLUG}/", f"/api/launches/{SLUG}/"
SCENARIOS = {
    "page_think": {"path": PAGE, "vus": 500, "think": 1, "long": True},
    "page_busy": {"path": PAGE, "vus": 500, "think": 0, "long": False},
    "page_10": {"path": PAGE, "vus": 10, "think": 0, "long": False},
    "api_think": {"path": API, "vus": 500, "think": 1, "long": True},
    "api_busy": {"path": API, "vus": 500, "think": 0, "long": False},
    "api_10": {"path": API, "vus": 10, "think": 0, "long": False},
}
ENGINEERS = 25
POOL = 8  # DATABASE_POOL_MAX of each web process
QUIET = ("--without-gossip", "--without-mingle")
UVICORN = (
    "--host",
    "127.0.0.1",
    "--proxy-headers",
    "--no-access-log",
    "--log-level",
    "warning",
    "--ws-per-message-deflate",
    "false",
    "--ws-max-size",
    "65536",
)


# --- processes ----------------------------------------------------------------------------------
class Target:
    """The system under test: its URL, its processes, its database."""

    def __init__(
        self, mode: str, tree: Path, workdir: Path, env: dict, workers: int, proxy: bool = True
    ):
        self.mode, self.tree, self.workdir, self.env = mode, tree, workdir, env
        self.workers, self.use_proxy = workers, proxy
        self.port = free_port()
        self.url = self.direct = f"http://127.0.0.1:{self.port}"
        self.procs: dict[str, subprocess.Popen] = {}
        self.proxy = ExitStack()

    def manage(self, *args, env_extra=None) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=self.tree,
            env=self.env | (env_extra or {}),
            capture_output=True,
            text=True,
            timeout=300,
            check=True,
        )
        return result.stdout

    def spawn(self, name: str, cmd: list[str], env_extra=None) -> None:
        log = (self.workdir / f"{name}.log").open("ab")
        self.procs[name] = subprocess.Popen(
            cmd, cwd=self.tree, env=self.env | (env_extra or {}), stdout=log, stderr=log
        )

    def start(self) -> None:
        self.manage("migrate", "--noinput")
        self.manage("import_plan", "checklists/plans/whatsapp-saas.yaml")
        web = [sys.executable, "manage.py", "serve", "--port", str(self.port)]
        if self.mode == "production":
            # uvicorn as `manage.py serve --workers N` runs it (spelled out, so that a checkout
            # from before that option can be measured the same way)
            web = [sys.executable, "-m", "uvicorn", "launchboard.asgi:application", *UVICORN]
            web += ["--port", str(self.port), "--workers", str(self.workers)]
            self.spawn("web", web, self._app_name("lb-web"))
            celery = [sys.executable, "-m", "celery", "-A", "launchboard"]
            self.spawn(
                "worker",
                [*celery, "worker", "--concurrency", "2", "--loglevel", "WARNING", *QUIET],
                self._app_name("lb-worker"),
            )
            self.spawn(
                "beat",
                [*celery, "beat", "--loglevel", "WARNING", "--schedule", *self._schedule()],
                self._app_name("lb-beat"),
            )
        else:
            self.spawn("web", web)
        wait_for_http(f"{self.url}/healthz", 60, self.procs["web"], self.workdir / "web.log")
        template = self.tree / "launchboard" / "deploy" / "launchboard.conf.template"
        # not in checkouts from before it
        if self.mode == "production" and self.use_proxy and template.exists():
            self.url = self.proxy.enter_context(nginx_in_front(self.port, template=template))

    def _schedule(self) -> list[str]:
        return [str(self.workdir / "beat-schedule")]

    def _app_name(self, name: str) -> dict:
        """Each process names itself to PostgreSQL, so connections can be counted by role."""
        return {"DATABASE_URL": f"{self.env['DATABASE_URL']}?application_name={name}"}

    def stop(self) -> None:
        self.proxy.close()
        for proc in self.procs.values():
            stop(proc, grace=15)

    def server_processes(self) -> list[psutil.Process]:
        web = psutil.Process(self.procs["web"].pid)
        return [web, *web.children(recursive=True)]


@contextmanager
def target(mode: str, tree: Path, workers: int, proxy: bool = True):
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix=f"lb-{mode}-")))
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_"))}
        env |= {"LAUNCHBOARD_DATA_DIR": str(workdir), "PYTHONUNBUFFERED": "1"}
        for name in ("LAUNCHBOARD_SECRET_KEY", "DJANGO_SETTINGS_MODULE"):
            env.pop(name, None)
        if mode == "production":
            env["DATABASE_URL"] = stack.enter_context(postgres_database("lb_bench"))
            env["REDIS_URL"] = stack.enter_context(redis_server()).url
            env["LAUNCHBOARD_SECRET_KEY"] = "bench-" + "x" * 60
            env["DATABASE_POOL_MAX"] = str(POOL)
        t = Target(mode, tree, workdir, env, workers, proxy)
        try:
            t.start()
            yield t
        finally:
            t.stop()


@contextmanager
def nginx_serving(page: bytes, api: bytes):
    """nginx with the same bytes at the same paths (the baseline of every read scenario)."""
    binary = nginx_binary()
    with tempfile.TemporaryDirectory(prefix="lb-nginx-") as tmp:
        root = Path(tmp)
        root.chmod(0o755)  # nginx's workers run as another user when started by root
        (root / "page.html").write_bytes(page)
        (root / "api.json").write_bytes(api)
        port = free_port()
        site = root / "site.conf"
        site.write_text(
            f"""server {{
  listen 127.0.0.1:{port};
  root {root};
  location = {PAGE} {{ default_type "text/html; charset=utf-8"; try_files /page.html =404; }}
  location = {API} {{ default_type application/json; try_files /api.json =404; }}
}}
"""
        )
        conf = root / "nginx.conf"
        conf.write_text(main_conf(root, str(site)))  # the same settings as the proxy's
        proc = subprocess.Popen([binary, "-c", str(conf), "-g", "daemon off;"])
        try:
            wait_for_http(f"http://127.0.0.1:{port}{PAGE}", 10, proc)
            yield f"http://127.0.0.1:{port}"
        finally:
            stop(proc)


# --- k6 -------------------------------------------------------------------------------------
def k6(script: str, out: Path, env: dict, timeout: float) -> dict:
    out.parent.mkdir(parents=True, exist_ok=True)
    cmd = [str(K6), "run", "--quiet", "--no-color", "--summary-export", str(out)]
    for key, value in env.items():
        cmd += ["-e", f"{key}={value}"]
    cmd.append(str(ROOT / "bench" / "k6" / script))
    log = out.with_suffix(".log")
    with log.open("w") as f:
        # exit code 99 = thresholds crossed: a result, not a failure of the benchmark
        subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, timeout=timeout, check=False)
    return json.loads(out.read_text())


def figures(summary: dict, metric: str = "http_req_duration", seconds: float = 0) -> dict:
    """k6's figures of a run, or of one tagged part of it (``seconds``: the run's length, for
    the request rate of that part)."""
    m = summary["metrics"]
    duration = m.get(metric, {})
    failed = m.get("http_req_failed", {})
    part = metric != "http_req_duration"
    return {
        "rps": duration.get("count", 0) / seconds if part else m["http_reqs"]["rate"],
        "requests": duration.get("count", 0) if part else m["http_reqs"]["count"],
        "p50": duration.get("med"),
        "p95": duration.get("p(95)"),
        "p99": duration.get("p(99)"),
        "max": duration.get("max"),
        "errors": failed.get("passes", 0),  # http_req_failed "passes" = failed requests
        "error_rate": failed.get("value", 0.0),
    }


def read_scenario(name: str, base: str, out: Path, duration: int, short: int) -> dict:
    s = SCENARIOS[name]
    seconds = duration if s["long"] else short
    env = {
        "BASE_URL": base,
        "URL_PATH": s["path"],
        "VUS": s["vus"],
        "THINK": s["think"],
        "DURATION": f"{seconds}s",
    }
    return figures(k6("page.js", out, env, timeout=seconds + 120))


# --- sampling during launch day ------------------------------------------------------------------
class Sampler(threading.Thread):
    def __init__(self, t: Target):
        super().__init__(daemon=True)
        self.t, self.done = t, threading.Event()
        self.connections: dict[str, int] = {}
        self.rss_mb = 0.0
        self.threads = 0

    def run(self) -> None:
        conn = None
        if self.t.mode == "production":
            import psycopg

            conn = psycopg.connect(self.t.env["DATABASE_URL"], autocommit=True)
        while not self.done.is_set():
            self._sample(conn)
            self.done.wait(0.5)
        if conn is not None:
            conn.close()

    def _sample(self, conn) -> None:
        try:
            procs = self.t.server_processes()
            self.rss_mb = max(self.rss_mb, sum(p.memory_info().rss for p in procs) / 2**20)
            self.threads = max(self.threads, max(p.num_threads() for p in procs))
        except psutil.Error:
            pass
        if conn is None:
            return
        rows = conn.execute(
            "SELECT application_name, count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() GROUP BY 1"
        ).fetchall()
        for name, count in rows:
            self.connections[name] = max(self.connections.get(name, 0), count)


def launch_day(t: Target, out: Path, duration: int) -> dict:
    sessions = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "page_setup.py"), SLUG, str(ENGINEERS)],
        cwd=t.tree,
        env=t.env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout.strip()
    sampler = Sampler(t)
    sampler.start()
    env = {
        "BASE_URL": t.url,
        "SESSIONS": sessions,
        "VUS": 500,
        "DURATION": f"{duration}s",
        "RESULT_FILE": str(ROOT / "tests" / "fixtures" / "k6" / "peak_pass.summary-export.json"),
    }
    try:
        summary = k6("launch_day.js", out, env, timeout=duration + 240)
    finally:
        sampler.done.set()
        sampler.join()
    m = summary["metrics"]
    seconds = m["http_reqs"]["count"] / m["http_reqs"]["rate"]  # the run's own length
    row = {
        "page": figures(summary, "http_req_duration{name:status page}", seconds),
        "api": figures(summary, "http_req_duration{name:readiness API}", seconds),
        "engineers": figures(summary, "http_req_duration{scenario:engineers}", seconds),
        "engineer_parts": {
            name: figures(summary, f"http_req_duration{{name:{name}}}", seconds)
            for name in ("engineer page", "engineer reads", "tick", "upload")
        },
        "push": m.get("push_latency", {}),
        "pushes": m.get("pushes", {}).get("count", 0),
        "changes": m.get("changes", {}).get("count", 0),
        "checks": m.get("checks", {}).get("value"),
        "error_rate": m.get("http_req_failed", {}).get("value", 0.0),
        "errors": m.get("http_req_failed", {}).get("passes", 0),
        "requests": m.get("http_reqs", {}).get("count", 0),
        "connections": sampler.connections,
        "rss_mb": sampler.rss_mb,
        "threads": sampler.threads,
        "pool_limit": POOL * t.workers if t.mode == "production" else None,
        "web_log_errors": _log_errors(t.workdir / "web.log"),
    }
    return row


def _log_errors(log: Path) -> dict:
    text = log.read_text(errors="replace") if log.exists() else ""
    return {
        word: text.count(word)
        for word in ("PoolTimeout", "Internal Server Error", "Traceback", "busy:")
    }


def snapshot(base: str) -> tuple[bytes, bytes]:
    with urllib.request.urlopen(base + PAGE, timeout=30) as r:
        page = r.read()
    with urllib.request.urlopen(base + API, timeout=30) as r:
        api = r.read()
    return page, api


# --- the run -------------------------------------------------------------------------------------
def run_mode(mode: str, args, out: Path) -> dict:
    results: dict = {"mode": mode, "reads": {}, "launch_day": None}
    with target(mode, args.tree, args.web_workers, not args.no_proxy) as t:
        page, api = snapshot(t.url)
        results["bytes"] = {"page": len(page), "api": len(api)}
        with nginx_serving(page, api) as nginx:
            servers = [("nginx", nginx), ("launchboard", t.url)]
            if t.direct != t.url:  # behind its proxy: uvicorn alone too, for reference
                servers.append(("direct", t.direct))
            for name in [s for s in args.scenarios if s in SCENARIOS]:
                rows = results["reads"].setdefault(name, {who: [] for who, _ in servers})
                for rep in range(args.repeat):
                    for who, base in servers:
                        print(f"[{mode}] {name} #{rep + 1} {who}", flush=True)
                        path = out / mode / f"{name}-{who}-{rep}.json"
                        rows[who].append(read_scenario(name, base, path, args.duration, args.short))
                        time.sleep(2)
        if "launch_day" in args.scenarios:
            print(f"[{mode}] launch_day", flush=True)
            results["launch_day"] = launch_day(t, out / mode / "launch_day.json", args.duration)
        results["web_log_errors"] = _log_errors(t.workdir / "web.log")
        for log in t.workdir.glob("*.log"):
            shutil.copy(log, out / mode / log.name)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--modes", nargs="+", default=["embedded", "production"])
    parser.add_argument("--duration", type=int, default=60)
    parser.add_argument("--short", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--scenarios", nargs="+", default=[*SCENARIOS, "launch_day"])
    parser.add_argument("--tree", type=Path, default=ROOT)
    parser.add_argument("--label", default="")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "page")
    parser.add_argument("--doc", default=str(ROOT / "docs" / "benchmarks" / "page.md"))
    parser.add_argument("--no-render", action="store_true", help="skip bench/render_bench.py")
    parser.add_argument(
        "--no-proxy", action="store_true", help="production without nginx in front (uvicorn alone)"
    )
    args = parser.parse_args()
    args.tree = args.tree.resolve()
    started = datetime.now(UTC)
    render = None
    if not args.no_render:  # first, on a quiet machine: it is a CPU time
        render = json.loads(
            subprocess.run(
                [sys.executable, str(ROOT / "bench" / "render_bench.py"), "--json"],
                cwd=ROOT,
                capture_output=True,
                text=True,
                check=True,
                timeout=900,
            ).stdout
        )
    runs = [run_mode(mode, args, args.out / (args.label or "current")) for mode in args.modes]
    data = {
        "started": started.isoformat(timespec="seconds"),
        "machine": machine(args.tree),
        "args": {k: str(v) for k, v in vars(args).items()},
        "runs": runs,
        "render": render,
    }
    raw = args.out / f"{args.label or 'current'}.json"
    raw.parent.mkdir(parents=True, exist_ok=True)
    raw.write_text(json.dumps(data, indent=2))
    print(f"raw results: {raw}")
    if args.doc:
        from page_report import write_report

        write_report(data, Path(args.doc), ROOT / "docs" / "benchmarks" / "page-before.json")
        print(f"report: {args.doc}")


def machine(tree: Path) -> dict:
    k6_version = subprocess.run([str(K6), "version"], capture_output=True, text=True).stdout
    nginx = subprocess.run(["nginx", "-v"], capture_output=True, text=True).stderr.strip()
    return {
        "cpus": os.cpu_count(),
        "cpu": platform.processor() or _cpu_model(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30),
        "python": platform.python_version(),
        "kernel": platform.release(),
        "k6": k6_version.split("(")[0].strip(),
        "nginx": nginx.replace("nginx version: ", ""),
        "commit": subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=tree
        ).stdout.strip(),
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return ""


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    sys.path.insert(0, str(ROOT / "bench"))
    main()
