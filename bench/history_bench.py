"""What time travel and the report cost: rebuilding a past version's readiness JSON as the log
grows, recording a version with each change, and building the report.

    .venv/bin/python bench/history_bench.py [--events 1000] [--repeat 15] [--out PATH]

On a throwaway SQLite database (embedded settings), the demo plan with a passing peak run gets
``--events`` changes through the services (ticks and unticks, task moves, a run now and then).
Then, for versions spread over the log, the median time to rebuild the version's readiness JSON
from its record (``sections.past_json`` without its cache: the record's parts read, the engine
run again, the JSON made) and the number of queries it takes: the cost must not grow with the
events before the version. Recording is measured as a ratio in the same process: a tick with
its record against the same tick with recording switched off. The report: Markdown, and PDF
without and with charts (Chromium started for them).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from render_bench import setup, timed  # noqa: E402 (the bench folder is put on the path above)


def changes(launch, count: int) -> None:
    """``count`` versions made by engineers' changes, as on a busy launch day."""
    from checklists.core.services import criterion_tick, task_move
    from checklists.models import Criterion, Launch, Task
    from metrics.services import run_ingest

    manual = list(Criterion.objects.filter(launch=launch, kind="manual", checked=False))
    tasks = list(Task.objects.filter(launch=launch, status="pending"))
    fixture = ROOT / "tests" / "fixtures" / "k6" / "peak_fail.ndjson"
    made = 0
    step = 0
    while made < count:
        before = Launch.objects.get(pk=launch.pk).version
        if step % 97 == 96:
            # the same run with one more point: a new file (another content hash), a new run
            point = {
                "type": "Point",
                "metric": "bench",
                "data": {"time": "2025-01-18T10:00:00Z", "value": step, "tags": {}},
            }
            tmp_file = f"{launch.pk}-{step}.ndjson"
            Path(tmp_file).write_text(fixture.read_text() + json.dumps(point) + "\n")
            run_ingest(launch, tmp_file, test="peak", actor_name="bench")
            os.unlink(tmp_file)
        elif step % 2:
            c = manual[step % len(manual)]
            c.refresh_from_db()
            criterion_tick(c, checked=not c.checked, reason="bench")
        else:
            t = tasks[step % len(tasks)]
            t.refresh_from_db()
            task_move(t, status="in_progress" if t.status == "pending" else "pending")
        made += Launch.objects.get(pk=launch.pk).version - before
        step += 1


def rebuild_cost(launch, versions: list[int], repeat: int) -> list[dict]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from checklists.board.presenters import readiness_json
    from checklists.core import history

    rows = []
    for version in versions:

        def rebuild(version=version):
            return readiness_json(history.board_at(launch, version))

        with CaptureQueriesContext(connection) as queries:
            rebuild()
        rows.append(
            {"version": version, "ms": round(timed(rebuild, repeat), 2), "queries": len(queries)}
        )
    return rows


def record_ratio(launch, repeat: int) -> dict:
    """A tick (service, event, record) against the same tick with recording off."""
    from checklists.core import history
    from checklists.core.services import criterion_tick
    from checklists.models import Criterion

    c = Criterion.objects.filter(launch=launch, kind="manual").first()

    def toggle():
        c.refresh_from_db()
        criterion_tick(c, checked=not c.checked, reason="bench")

    with_record = timed(toggle, repeat)
    real = history.record
    history.record = lambda *a, **k: None  # the baseline: the same write, nothing recorded
    try:
        without = timed(toggle, repeat)
    finally:
        history.record = real
    return {"with_ms": round(with_record, 2), "without_ms": round(without, 2)}


def report_cost(launch) -> dict:
    from django.core.cache import caches

    from checklists.board import report

    md = timed(lambda: report.as_markdown(launch), 5)
    caches["sections"].clear()
    real = report.browser_path
    report.browser_path = lambda: None  # no charts: WeasyPrint alone
    try:
        pdf_plain = timed(lambda: (caches["sections"].clear(), report.as_pdf(launch)), 3)
    finally:
        report.browser_path = real
    caches["sections"].clear()
    started = time.perf_counter()
    report.as_pdf(launch)
    pdf_charts = (time.perf_counter() - started) * 1000
    started = time.perf_counter()
    report.as_pdf(launch)  # kept: a version's document never changes
    kept = (time.perf_counter() - started) * 1000
    return {
        "markdown_ms": round(md, 1),
        "pdf_without_charts_ms": round(pdf_plain, 1),
        "pdf_with_charts_ms": round(pdf_charts, 1),
        "pdf_kept_ms": round(kept, 2),
    }


def write_doc(path: Path, result: dict) -> None:
    rows = "\n".join(f"| {r['version']} | {r['ms']} | {r['queries']} |" for r in result["rebuild"])
    first, last = result["rebuild"][0], result["rebuild"][-1]
    growth = last["ms"] / first["ms"] if first["ms"] else 0
    rec = result["record"]
    rep = result["report"]
    path.write_text(
        f"""# Time travel and the report: what they cost

`bench/history_bench.py --events {result["events"]}` on {result["when"]} ({result["machine"]}),
SQLite, the demo plan with a passing peak run, {result["events"]} changes made through the
services (ticks and unticks, task moves, a run every 97 changes).

## Rebuilding a past version (target: well under a second at 1,000 events, no worse than linear)

| version | median ms (readiness JSON rebuilt from its record) | queries |
|---:|---:|---:|
{rows}

From version {first["version"]} to version {last["version"]} the cost changes by a factor of
{growth:.2f}: a version is rebuilt from its own record (its root, the groups, the leaves), never
by replaying the events before it, so the number of queries is the same at every version and the
time does not grow with the log. The stored parts after {result["events"]} versions:
{result["parts"]:,} parts for {result["states"]:,} versions ({result["parts_per_version"]:.2f} per
version: a change writes at most its item, its group's list and a root, and a state seen before
(an item ticked, unticked, ticked again) is stored once, by its hash).

## Recording a version with each change

A tick through the service: {rec["with_ms"]} ms with its record, {rec["without_ms"]} ms with
recording switched off in the same process: {rec["with_ms"] / rec["without_ms"]:.2f}x (both
include the after-commit render of the new version). The record reads the launch as the page
does (plan, observations, runs, sources: 14 queries) inside the change's transaction, then
hashes its parts and stores the new ones.

## The report

Markdown {rep["markdown_ms"]} ms; PDF without charts {rep["pdf_without_charts_ms"]} ms (WeasyPrint);
PDF with its two charts {rep["pdf_with_charts_ms"]} ms (kaleido starts Chromium once per
document); the same PDF asked again: {rep["pdf_kept_ms"]} ms (kept per version: a version's
document never changes).
"""
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--out", default=str(ROOT / "docs" / "benchmarks" / "history.md"))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="history-bench-") as tmp:
        setup(tmp)
        os.chdir(tmp)
        from render_bench import load

        from checklists.models import BoardState, StatePart

        plan = (ROOT / "checklists" / "plans" / "whatsapp-saas.yaml").read_text()
        import yaml

        launch = load(yaml.safe_load(plan))
        started = time.perf_counter()
        changes(launch, args.events)
        made_s = time.perf_counter() - started
        launch.refresh_from_db()
        spread = sorted({1, *(launch.version * k // 10 for k in range(1, 11))} - {0})
        result = {
            "events": launch.version,
            "when": datetime.now(UTC).strftime("%Y-%m-%d"),
            "machine": f"{os.cpu_count()} cores",
            "made_s": round(made_s, 1),
            "rebuild": rebuild_cost(launch, spread, args.repeat),
            "record": record_ratio(launch, args.repeat),
            "report": report_cost(launch),
            "states": BoardState.objects.count(),
            "parts": StatePart.objects.count(),
        }
        result["parts_per_version"] = result["parts"] / max(result["states"], 1)
    if args.json:
        print(json.dumps(result, indent=2))
    write_doc(Path(args.out), result)
    versions = f"{result['rebuild'][0]['version']}..{result['rebuild'][-1]['version']}"
    median = statistics.median(r["ms"] for r in result["rebuild"])
    print(f"{args.out}: versions {versions} rebuilt in {median:.1f} ms (median)")


if __name__ == "__main__":
    main()
