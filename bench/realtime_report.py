"""The Markdown report of bench/realtime_bench.py (docs/benchmarks/realtime.md)."""

from __future__ import annotations

import os
import platform
import shlex
import subprocess
from datetime import datetime
from pathlib import Path

import psutil

SLUG = "whatsapp-saas"
TARGET_P95_MS, TARGET_RATIO, TARGET_P99_MS = 100.0, 8.0, 250.0
ANALYSIS = "## Analysis"


def versions() -> str:
    from importlib.metadata import version

    names = ["Django", "channels", "channels_redis", "redis", "daphne", "Twisted", "uvicorn"]
    names += ["uvloop", "websockets", "psycopg"]
    found = []
    for name in names:
        try:
            found.append(f"{name} {version(name)}")
        except Exception:  # not installed
            found.append(f"{name} ?")
    return ", ".join(found)


def machine() -> str:
    model = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    redis = subprocess.run(["redis-server", "--version"], capture_output=True, text=True).stdout
    redis = redis.split()[2] if redis else "?"
    mem = psutil.virtual_memory().total / 2**30
    return (
        f"{os.cpu_count()} CPUs ({model}), {mem:.0f} GiB RAM, Linux {platform.release()}, "
        f"Python {platform.python_version()}, redis-server {redis.removeprefix('v=')}. "
        f"{versions()}."
    )


def code_version() -> str:
    """The commit measured, and whether the tree had uncommitted changes."""
    root = Path(__file__).resolve().parent.parent

    def git(*args):
        return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True)

    head = git("rev-parse", "--short", "HEAD")
    if head.returncode:
        return f"the tree at {root} (not a git checkout)"
    dirty = [line for line in git("status", "--porcelain").stdout.splitlines() if line]
    return f"commit {head.stdout.strip()}" + (
        f" plus uncommitted changes in {len(dirty)} files" if dirty else ""
    )


def fmt(value, digits: int = 1) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def label(result: dict) -> str:
    what = " what-if" if result.get("whatif") else ""
    return f"{result['server']}{what} #{result.get('run', 1)}"


def checks(result: dict, raw_p95: float) -> dict[str, tuple[str, bool]]:
    """Each target: (the measured value as text, met)."""
    lat = result["latency_ms"]
    p95 = lat["p95"] if lat["p95"] is not None else float("inf")
    p99 = lat["p99"] if lat["p99"] is not None else float("inf")
    ratio = p95 / raw_p95
    errors = result["max_connections_errors"]
    return {
        f"p95 <= {TARGET_P95_MS:.0f} ms": (fmt(p95), p95 <= TARGET_P95_MS),
        f"p95 <= {TARGET_RATIO:.0f}x raw p95": (
            f"{ratio:.1f}x",
            ratio <= TARGET_RATIO,
        ),
        f"p99 < {TARGET_P99_MS:.0f} ms": (fmt(p99), p99 < TARGET_P99_MS),
        "every client joined": (str(result["joined"]), result["joined"] == result["clients"]),
        "0 lost updates (clients)": (str(result["lost_clients"]), result["lost_clients"] == 0),
        "0 MaxConnectionsError": (str(errors), errors == 0),
    }


def latency_rows(results: list[dict]) -> list[str]:
    rows = [
        "| server | joined | p50 ms | p95 ms | p99 ms | max ms | first client p50 ms "
        "| last client p50 ms | lost clients | closed by server | missing pairs "
        "| coalesced pairs | MaxConnectionsError | other work, cores |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lat, pairs = r["latency_ms"], r["pairs"] + r["missing_pairs"]
        rows.append(
            f"| {label(r)} | {r['joined']}/{r['clients']} | {fmt(lat['p50'])} "
            f"| {fmt(lat['p95'])} | {fmt(lat['p99'])} | {fmt(lat['max'])} "
            f"| {fmt(r['first_receipt_p50_ms'])} | {fmt(r['all_received_p50_ms'])} "
            f"| {r['lost_clients']} | {r['closed_early']} | {r['missing_pairs']:,} of {pairs:,} "
            f"| {r['coalesced_pairs']:,} | {r.get('max_connections_errors', '—')} "
            f"| {r['usage']['other_cores']:.2f}{set_aside(r)} |"
        )
    return rows


def set_aside(result: dict) -> str:
    attempts = result.get("noisy_attempts") or []
    if not attempts:
        return ""
    others = ", ".join(f"{a['other_cores']:.2f}" for a in attempts)
    return f" (an earlier attempt set aside: other work {others})"


def resource_rows(results: list[dict]) -> list[str]:
    rows = [
        "| server | server CPU s (cores) | server peak RSS MB (idle) | µs server CPU per delivery "
        "| clients CPU s | writer CPU s | redis CPU s | PostgreSQL CPU s "
        "| rest of the machine, cores (busiest) | machine busy before the phase, cores |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        u = r["usage"]
        cpu = u["cpu_s"]
        deliveries = max(1.0, r["joined"] * r["updates_per_client"])
        idle = f" ({r['rss_idle_mb']:.0f})" if r["rss_idle_mb"] else ""
        top = ", ".join(f"{name} {cores}" for name, cores in u.get("other_top", []))
        rows.append(
            f"| {label(r)} | {cpu['web']:.1f} ({cpu['web'] / u['wall_s']:.2f}) "
            f"| {u['rss_mb']['web']:.0f}{idle} | {cpu['web'] / deliveries * 1e6:,.0f} "
            f"| {cpu['clients']:.1f} | {fmt(cpu.get('writer'))} | {fmt(cpu.get('redis'))} "
            f"| {fmt(cpu.get('postgres'))} | {u['other_cores']:.2f} ({top or '—'}) "
            f"| {r['gate']['busy_cores']:.2f} |"
        )
    return rows


def size_rows(results: list[dict]) -> list[str]:
    rows = [
        "| server | one-change update, median bytes | any update, median / max bytes "
        "| snapshot bytes | messages per client (update) | problems in the server log |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        log = r.get("log")
        problems = ", ".join(f"{k} {v}" for k, v in log.items()) if log else "—"
        rows.append(
            f"| {label(r)} | {r['single_update_bytes_median']:,.0f} "
            f"| {r['update_bytes_median']:,.0f} / {r['update_bytes_max']:,} "
            f"| {r['snapshot_bytes_median']:,.0f} | {r['updates_per_client']:.1f} | {problems} |"
        )
    return rows


def writer_rows(results: list[dict]) -> list[str]:
    rows = [
        "| server | transaction | after commit (total) | render | share (cache set) | publish "
        "(group_send) | rest | first render | achieved rate /s | max late |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        if "writer" not in r:
            continue
        w = r["writer"]

        def pair(key, w=w):
            return f"{w[key][0]:.1f} / {w[key][1]:.1f}"

        rows.append(
            f"| {label(r)} | {pair('transaction_ms')} | {pair('after_commit_ms')} "
            f"| {pair('render_ms')} | {pair('share_ms')} | {pair('publish_ms')} "
            f"| {pair('rest_ms')} | {w['first_render_ms']:.0f} | {w['achieved_rate']:.2f} "
            f"| {w['late_max_ms']:.0f} |"
        )
    return rows


def target_rows(results: list[dict], raw_p95: dict[int, float]) -> tuple[list[str], list[str]]:
    """One column per configuration; a target is met only if every round met it."""
    groups: dict[str, list[dict]] = {}
    for r in results:
        name = r["server"] + (f" what-if ({r['whatif']})" if r.get("whatif") else "")
        groups.setdefault(name, []).append(r)
    table = {name: [checks(r, raw_p95[r["run"]]) for r in rs] for name, rs in groups.items()}
    names = list(next(iter(table.values()))[0])
    rows = ["| target | " + " | ".join(table) + " |", "|---" * (len(table) + 1) + "|"]
    for target in names:
        cells = []
        for per_run in table.values():
            values = " / ".join(c[target][0] for c in per_run)
            met = all(c[target][1] for c in per_run)
            cells.append(f"{values} {'yes' if met else '**no**'}")
        rows.append(f"| {target} | " + " | ".join(cells) + " |")
    meets = [n for n, per_run in table.items() if all(ok for c in per_run for _, ok in c.values())]
    return rows, meets


def idle_section(idle: list[dict]) -> list[str]:
    if not idle:
        return []
    rows = [
        "## Idle pages: does the server keep them?",
        "",
        "Pages connected with no change at all (`--idle-seconds`); *closed by server* counts"
        " pages the server dropped. The `sockettimeout` what-if sets `socket_timeout: 30` on"
        " the channel layer's Redis connections (`bench/realtime_whatif.py`).",
        "",
        "| server | pages | idle s | closed by server | problems in the server log |",
        "|---|---|---|---|---|",
    ]
    for r in idle:
        name = r["server"] + (f" what-if ({r['whatif']})" if r["whatif"] else "")
        problems = ", ".join(f"{k} {v}" for k, v in r["log"].items())
        rows.append(
            f"| {name} | {r['joined']} | {r['seconds']:g} | {r['closed_by_server']} | {problems} |"
        )
    return [*rows, ""]


def report(results: list[dict], args, argv: list[str], started: datetime, idle: list[dict]) -> str:
    raws = [r for r in results if r["server"] == "raw websockets"]
    raw_p95 = {r["run"]: r["latency_ms"]["p95"] for r in raws}
    products = [r for r in results if r["server"] != "raw websockets" and not r.get("whatif")]
    whatifs = [r for r in results if r.get("whatif")]
    targets, meets = target_rows(products, raw_p95)
    lines = [
        "# Real-time push benchmark: commit to receipt, 500 websocket clients",
        "",
        f"Date: {started:%Y-%m-%d %H:%M} UTC. Machine: {machine()}",
        "",
        f"Command: `{shlex.join(['.venv/bin/python', 'bench/realtime_bench.py', *argv])}`",
        "",
        f"Product code: {args.code or code_version()}.",
        "",
        *method(args, raws[0]),
        "",
        "## Latency, commit to receipt",
        "",
        "`#n` is the round: every round measures each server and the raw baseline once.",
        "",
        *latency_rows(results),
        "",
        "p50/p95/p99/max are over every (joined client, committed version) pair. *First client* and"
        " *last client*: per version, the latency of the first and of the last client to get it"
        " (median over versions). *Missing pairs*: versions a client never got (not even a later"
        " one). *Coalesced pairs*: versions a client got only as part of a later version."
        " *Other work*: CPU taken by other people's processes on this shared box during the"
        f" phase; a phase above {args.quiet_cores:g} cores is run again (at most"
        f" {args.noisy_retries} time), whatever its latency.",
        "",
        "## Targets (the product as it is)",
        "",
        "Raw `websockets` p95 per round: "
        + ", ".join(f"#{run} {p95:.1f} ms" for run, p95 in raw_p95.items())
        + f"; the ratio target is at most {TARGET_RATIO:.0f}x the same round's. Values are per"
        " round (#1 / #2 ...); a target is met only if it is met in every round.",
        "",
        *targets,
        "",
        f"**Verdict:** {verdict_text(products, meets, raw_p95)}",
        "",
        *whatif_section(whatifs, raw_p95),
        *idle_section(idle),
        "## Cost",
        "",
        *resource_rows(results),
        "",
        "Over the measured window (first change to the end of the settle time): CPU and peak RSS"
        " of the web process (or the raw server), CPU of the bench's other processes and of the"
        " PostgreSQL backends serving the bench's database; *rest of the machine* is the CPU of"
        " everything else (other work on this shared box; kernel interrupt time excluded), with"
        " its busiest process names. µs per delivery = server CPU / update messages delivered.",
        "",
        "Writer process, per change, ms (median / p95). *After commit* is the product's own"
        " after-commit work, on the path of every update: *render* the live sections, *share*"
        " them in the Redis cache, *publish* (`group_send` of the nudge); *rest* is the"
        " readiness-state update. *Achieved rate*: changes per second actually made.",
        "",
        *writer_rows(results),
        "",
        "## Messages",
        "",
        *size_rows(results),
        "",
    ]
    return "\n".join(lines)


def whatif_section(whatifs: list[dict], raw_p95: dict[int, float]) -> list[str]:
    if not whatifs:
        return []
    targets, meets = target_rows(whatifs, raw_p95)
    variants = whatifs[0]["whatif"]
    return [
        "## What-if: the same bench with the web process patched in memory",
        "",
        f"Not the product: `bench/realtime_whatif.py` with `LB_WHATIF={variants}` (its docstring"
        " says what each variant changes). Shown to size the product changes proposed below.",
        "",
        *targets,
        "",
        f"Meets every target: {', '.join(meets) if meets else 'none'}.",
        "",
    ]


def method(args, raw: dict) -> list[str]:
    return [
        "## Method",
        "",
        f"* Per ASGI server, `production_stack(server=..., worker=False)` from"
        f" `tests/support/production.py`: a fresh PostgreSQL database with the demo launch, a"
        f" private redis-server (channel layer `RedisChannelLayer` and the sections cache), one"
        f" web process. {args.clients} clients (`websockets`, compression off) in one uvloop"
        f" process connect to `/ws/launches/{SLUG}/` at once; each waits for its snapshot.",
        f"* One writer process makes {args.rate:g} changes/s for {args.seconds:g} s"
        f" ({int(args.rate * args.seconds)} changes): tick / untick a manual criterion with"
        f" `criterion_tick`. Commit time = `time.time()` in an `on_commit` callback registered"
        f" before the change, so it runs before the product's after-commit work (render the"
        f" sections, share them in Redis, `group_send` a nudge), which the latency includes.",
        "* Receipt of version v = the first message (update, snapshot or heartbeat) with"
        " version >= v: updates coalesce, so a version skipped for a newer one counts as"
        " received when the newer one arrives. Clients and writer read the same host clock.",
        f"* Lost = joined clients whose last version is not the final committed one"
        f" {args.settle:g} s after the last change. `MaxConnectionsError` = occurrences in the"
        f" web process's output, read after the clients disconnected.",
        f"* Raw baseline: `bench/realtime_raw.py`, a bare `websockets` server (plain asyncio)"
        f" calling `websockets.broadcast` with a {raw.get('payload_bytes', 0):,}-byte message"
        f" (the median size of a one-change product update) at the same rate, to the same"
        f" number of clients; latency from just before `broadcast` to receipt.",
        "* All in one run on a 2-core box, clients included: their queueing is in every"
        " figure, the raw baseline's too. The box is shared: before each phase the bench"
        f" waits (at most {args.quiet_wait:g} s) until the machine is busy at most"
        f" {args.quiet_cores:g} cores, and it reports the CPU of everything else during each"
        " window. Per-phase data: `--out` (default `bench/out/realtime/`).",
    ]


def verdict_text(products: list[dict], meets: list[str], raw_p95: dict[int, float]) -> str:
    if meets:
        return f"met in every round by: {', '.join(meets)}; use it in production."
    worst = {}
    for r in products:
        p95 = r["latency_ms"]["p95"] or float("inf")
        limit = min(TARGET_P95_MS, TARGET_RATIO * raw_p95[r["run"]])
        worst[r["server"]] = max(worst.get(r["server"], (0, 0)), (p95 / limit, p95))
    parts = [f"{s} p95 up to {p95:.0f} ms, {x:.1f}x its limit" for s, (x, p95) in worst.items()]
    return "neither server meets the target (" + "; ".join(parts) + ")."


def keep_analysis(doc: Path) -> str:
    if not doc.exists():
        return ""
    text = doc.read_text()
    at = text.find(f"\n{ANALYSIS}")
    return text[at:] if at >= 0 else ""
