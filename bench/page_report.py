"""The Markdown report of bench/page_bench.py (docs/benchmarks/page.md)."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

READS = ("page_think", "page_busy", "page_10", "api_think", "api_busy", "api_10")
TITLES = {
    "page_think": "status page, 500 VUs, sleep(1)",
    "page_busy": "status page, 500 VUs, no think time",
    "page_10": "status page, 10 VUs, no think time",
    "api_think": "readiness API, 500 VUs, sleep(1)",
    "api_busy": "readiness API, 500 VUs, no think time",
    "api_10": "readiness API, 10 VUs, no think time",
}

SERVERS = {
    "nginx": "nginx",
    "launchboard": "launchboard",
    "direct": "launchboard without its proxy",
}


def _median(rows: list[dict], key: str):
    values = [r[key] for r in rows if r.get(key) is not None]
    return statistics.median(values) if values else None


def _ms(value) -> str:
    return "—" if value is None else (f"{value:,.0f} ms" if value >= 100 else f"{value:.1f} ms")


def _num(value) -> str:
    return "—" if value is None else f"{value:,.0f}"


def _yes(ok: bool | None) -> str:
    return "—" if ok is None else ("**met**" if ok else "**NOT met**")


def read_table(run: dict) -> list[str]:
    lines = [
        "| load | server | req/s | p50 | p95 | p99 | errors | p95 ÷ nginx | req/s ÷ nginx |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name in READS:
        rows = run["reads"].get(name)
        if not rows:
            continue
        base_p95 = _median(rows["nginx"], "p95")
        base_rps = _median(rows["nginx"], "rps")
        for who in ("nginx", "launchboard", "direct"):
            r = rows.get(who)
            if not r:
                continue
            p95, rps = _median(r, "p95"), _median(r, "rps")
            errors = sum(x["errors"] for x in r)
            requests = sum(x["requests"] for x in r)
            ratio_p95 = f"{p95 / base_p95:.1f}x" if who != "nginx" and p95 and base_p95 else ""
            ratio_rps = f"{rps / base_rps:.1%}" if who != "nginx" and rps and base_rps else ""
            p50, p99 = _ms(_median(r, "p50")), _ms(_median(r, "p99"))
            server = SERVERS.get(who, who)
            lines.append(
                f"| {TITLES[name]} | {server} | {_num(rps)} | {p50} | {_ms(p95)} | {p99} "
                f"| {errors} of {requests:,} | {ratio_p95} | {ratio_rps} |"
            )
    return lines


def targets(run: dict) -> list[tuple[str, str, bool | None]]:
    """(target, measured, met) for one mode."""
    out = []
    reads = run["reads"]
    production = run["mode"] == "production"

    def get(name, who, key):
        rows = reads.get(name, {}).get(who)
        return _median(rows, key) if rows else None

    def errors(name):
        rows = reads.get(name, {}).get("launchboard") or []
        return sum(r["errors"] for r in rows) if rows else None

    for kind, label in (("page", "status page"), ("api", "readiness API")):
        think = f"{kind}_think"
        p95, base = get(think, "launchboard", "p95"), get(think, "nginx", "p95")
        if p95 is not None and base:
            ok = p95 <= 5 * base and p95 <= 200 and errors(think) == 0
            out.append(
                (
                    f"{label}, 500 VUs sleep(1): p95 ≤ 5x nginx and ≤ 200 ms, 0 errors",
                    f"p95 {_ms(p95)} = {p95 / base:.1f}x nginx ({_ms(base)}), "
                    f"{errors(think)} errors",
                    ok,
                )
            )
        busy = f"{kind}_busy"
        rps, base_rps = get(busy, "launchboard", "rps"), get(busy, "nginx", "rps")
        p95_busy = get(busy, "launchboard", "p95")
        if rps is not None and base_rps:
            ok = rps >= 0.05 * base_rps and p95_busy <= 150 if production else None
            out.append(
                (
                    f"{label}, 500 VUs no think time: ≥ 5% of nginx's req/s, p95 ≤ 150 ms"
                    + ("" if production else " (a production target; shown for reference)"),
                    f"{rps:,.0f} req/s = {rps / base_rps:.1%} of nginx ({base_rps:,.0f}), "
                    f"p95 {_ms(p95_busy)}",
                    ok,
                )
            )
        ten = get(f"{kind}_10", "launchboard", "rps")
        if rps is not None and ten:
            out.append(
                (
                    f"{label}: req/s at 500 VUs ≥ 0.8x req/s at 10 VUs (no collapse)",
                    f"{rps:,.0f} / {ten:,.0f} = {rps / ten:.2f}",
                    rps >= 0.8 * ten,
                )
            )
    day = run.get("launch_day")
    if day:
        push = day["push"].get("p(95)")
        out.append(
            (
                "launch day: a change reaches every open page in p95 ≤ 1 s",
                f"p95 {_ms(push)} over {day['pushes']:,} deliveries of {day['changes']} changes",
                push is not None and push <= 1000 and day["pushes"] > 0,
            )
        )
        if day["pool_limit"]:
            web = day["connections"].get("lb-web", 0)
            out.append(
                (
                    "launch day: PostgreSQL connections of the web processes within their pools",
                    f"at most {web} of {day['pool_limit']}; "
                    f"PoolTimeout in the log: {day['web_log_errors']['PoolTimeout']}",
                    web <= day["pool_limit"] and not day["web_log_errors"]["PoolTimeout"],
                )
            )
        out.append(
            (
                "launch day: the seed's criteria (p95 < 400 ms, errors < 1%)",
                f"page p95 {_ms(day['page']['p95'])}, API p95 {_ms(day['api']['p95'])}, "
                f"engineers p95 {_ms(day['engineers']['p95'])}, errors "
                f"{day['error_rate']:.2%} ({day['errors']} of {day['requests']:,})",
                (day["page"]["p95"] or 0) < 400
                and (day["api"]["p95"] or 0) < 400
                and day["error_rate"] < 0.01,
            )
        )
    return out


def launch_day_lines(day: dict) -> list[str]:
    push = day["push"]
    lines = [
        "| | req/s | p50 | p95 | p99 | max |",
        "|---|---|---|---|---|---|",
    ]
    for label, key in (
        ("status page (viewers)", "page"),
        ("readiness API (pollers, ETag)", "api"),
        ("engineers (signed in: page, JSON, tick, upload)", "engineers"),
    ):
        r = day[key]
        lines.append(
            f"| {label} | {r['rps']:,.1f} | {_ms(r['p50'])} | {_ms(r['p95'])} | {_ms(r['p99'])} "
            f"| {_ms(r['max'])} |"
        )
    for name, r in day.get("engineer_parts", {}).items():
        if r["requests"]:
            lines.append(
                f"| &nbsp;&nbsp;{name} | {r['rps']:,.1f} | {_ms(r['p50'])} | {_ms(r['p95'])} "
                f"| {_ms(r['p99'])} | {_ms(r['max'])} |"
            )
    lines.append(
        f"| change → open page (push) | {day['pushes']:,} deliveries | {_ms(push.get('med'))} "
        f"| {_ms(push.get('p(95)'))} | {_ms(push.get('p(99)'))} | {_ms(push.get('max'))} |"
    )
    conns = ", ".join(f"{k or '?'} {v}" for k, v in sorted(day["connections"].items())) or "—"
    lines += [
        "",
        f"Changes made by the engineers: {day['changes']}. Errors: {day['errors']} of "
        f"{day['requests']:,} requests ({day['error_rate']:.2%}); checks passed: "
        f"{(day['checks'] or 0):.2%}. Most PostgreSQL connections seen at once, by process: "
        f"{conns}. Server processes: at most {day['rss_mb']:.0f} MiB resident, "
        f"{day['threads']} threads in one process. Web log: {day['web_log_errors']}.",
    ]
    return lines


def write_report(data: dict, doc: Path, before_path: Path | None = None) -> None:
    m = data["machine"]
    lines = [
        "# Launch-day reads: the status page and the readiness API under 500 readers",
        "",
        f"Run {data['started']} on {m['cpus']} CPUs ({m['cpu']}), {m['memory_gib']} GiB, "
        f"Linux {m['kernel']}, Python {m['python']}, {m['k6']}, nginx {m['nginx']}; "
        f"commit {m['commit']}.",
        "",
        "Command: `.venv/bin/python bench/page_bench.py` "
        f"(durations {data['args']['duration']} s with think time, {data['args']['short']} s "
        f"without; {data['args']['repeat']} run(s) each, nginx and Launchboard interleaved; "
        f"production with {data['args']['web_workers']} uvicorn workers). k6 and every server "
        "share the same 2 cores; nginx serves the very bytes Launchboard served to an anonymous "
        "reader, from a file, in the same run.",
        "",
    ]
    for run in data["runs"]:
        mode = run["mode"]
        what = (
            "`make run`: one process (uvicorn), SQLite, in-memory channel layer, Celery worker "
            "and beat inside"
            if mode == "embedded"
            else "production topology: nginx in front (launchboard/deploy/, a one-second "
            "micro-cache for anonymous reads), `manage.py serve --workers "
            f"{data['args']['web_workers']}` (uvicorn), a Celery worker (2 processes), Celery "
            "beat, PostgreSQL, Redis, each a plain process"
        )
        lines += [f"## {mode.capitalize()}: {what}", ""]
        lines += [f"Bytes served: page {run['bytes']['page']:,}, JSON {run['bytes']['api']:,}.", ""]
        lines += ["### Targets", "", "| target | measured | |", "|---|---|---|"]
        lines += [f"| {t} | {measured} | {_yes(ok)} |" for t, measured, ok in targets(run)]
        lines += ["", "### Reads, against nginx in the same run", "", *read_table(run), ""]
        if run.get("launch_day"):
            lines += [
                "### Launch day (bench/k6/launch_day.js, 500 VUs)",
                "",
                "400 viewers load the page and hold its WebSocket (30 s on average, then load it "
                "again), 75 pollers GET the readiness JSON every 5 s with its ETag, 25 signed-in "
                "engineers read the board and tick or untick an item (or upload a small result "
                "every fourth time) every 10 s on average. Push latency is from the change's "
                "commit to its arrival on each open page.",
                "",
                *launch_day_lines(run["launch_day"]),
                "",
            ]
    render = data.get("render")
    if render:
        demo, big = render["demo"], render["x10"]
        lines += [
            "## Render per change",
            "",
            "`.venv/bin/python bench/render_bench.py`: what one change costs the process that "
            "makes it: evaluating the launch and rendering the 11 sections, the board, the "
            "anonymous page and the readiness JSON (embedded settings, SQLite). Median of the "
            "renders; CPU time alongside.",
            "",
            "| plan | tasks | criteria | risks | gates | tests | render | CPU | "
            "evaluate | page context | sections |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for label, row in (("demo", demo), ("10x the demo", big)):
            p = row["plan"]
            lines.append(
                f"| {label} | {p['tasks']} | {p['criteria']} | {p['risks']} | {p['gates']} "
                f"| {p['load_tests']} | {_ms(row['render_ms'])} | {_ms(row['render_cpu_ms'])} "
                f"| {_ms(row['parts_ms']['evaluate'])} | {_ms(row['parts_ms']['page_context'])} "
                f"| {_ms(row['parts_ms']['sections'])} |"
            )
        lines += [
            "",
            f"| target | measured | |\n|---|---|---|\n| render ≤ 50 ms at the demo's size | "
            f"{_ms(demo['render_ms'])} | {_yes(demo['render_ms'] <= 50)} |\n"
            f"| no worse than linear with the plan (10x plan ≤ 10x the time) | "
            f"{render['growth']:.1f}x | {_yes(render['growth'] <= 10)} |",
            "",
        ]
    if before_path and before_path.exists():
        lines += before_section(json.loads(before_path.read_text()))
    kept = _kept(doc)
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text("\n".join(lines).rstrip() + "\n" + kept)


def before_section(before: dict) -> list[str]:
    lines = [
        "## Before: the same script on the last commit before this work",
        "",
        f"Run {before['started']} on the same machine, serving {before['args']['tree']} "
        "(every request rendered the page or the JSON; no bound on Django's threads). Only "
        "the scenarios of the issue's own table; k6's 60 s request timeout caps the p95.",
        "",
    ]
    for run in before["runs"]:
        lines += [f"### {run['mode'].capitalize()}", "", *read_table(run), ""]
    return lines


def _kept(doc: Path) -> str:
    """A section headed '## Analysis' (and anything after it) in the existing doc is kept."""
    if not doc.exists():
        return ""
    text = doc.read_text()
    index = text.find("\n## Analysis")
    return "" if index < 0 else text[index:]
