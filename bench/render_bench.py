"""What one change costs the writer: evaluating the launch and rendering everything readers get
(the sections, the board, the anonymous page and the readiness JSON), at the demo's size and
at ten times it.

    .venv/bin/python bench/render_bench.py [--repeat 30] [--json]

Runs on a throwaway SQLite database (embedded settings). The demo plan gets a passing peak run
(tests/fixtures/k6/peak_pass.ndjson), so its suite section draws charts; the 10x plan is the
demo's plan ten times over (every task, test, source, criterion, risk and gate copied with its
references), each copy of the peak test with the same run. Median of --repeat renders after
two warm-ups; the parts are timed separately on the same launch.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REFERENCES = {
    "tasks": ("depends_on",),
    "criteria": ("after", "all_of", "test", "source"),
    "risks": ("measured_by",),
    "decision": ("requires_tasks", "requires_criteria"),
}


def times_ten(plan: dict) -> dict:
    """The plan ten times over: copy k gets keys ``<key>-k`` and points at copy k's items."""
    big = copy.deepcopy(plan)
    big["launch"] = {**plan["launch"], "slug": "whatsapp-saas-x10", "name": "Ten times the demo"}
    for section in ("tasks", "load_tests", "sources", "criteria", "risks", "decision"):
        items = []
        for k in range(10):
            for item in copy.deepcopy(plan.get(section, [])):
                item["key"] = f"{item['key']}-{k}"
                for ref in REFERENCES.get(section, ()):
                    value = item.get(ref)
                    if isinstance(value, list):
                        item[ref] = [f"{v}-{k}" for v in value]
                    elif value:
                        item[ref] = f"{value}-{k}"
                items.append(item)
        big[section] = items
    if "rollout" in plan:  # the watch stays one, on the first copy's criteria
        rollout = big["rollout"]
        rollout["triggers"] = [f"{key}-0" for key in rollout.get("triggers", [])]
        for stage in rollout.get("stages", []):
            stage["requires"] = [f"{key}-0" for key in stage.get("requires", [])]
    return big


def setup(tmp: str):
    os.environ["LAUNCHBOARD_DATA_DIR"] = tmp
    for name in ("DATABASE_URL", "REDIS_URL", "LAUNCHBOARD_SECRET_KEY"):
        os.environ.pop(name, None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "launchboard.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def load(plan: dict):
    import yaml

    from checklists.core.services import plan_import
    from checklists.engine.plan import load_plan
    from checklists.models import Launch
    from metrics.services import run_ingest

    launch = plan_import(load_plan(yaml.safe_dump(plan, sort_keys=False))).launch
    fixture = ROOT / "tests" / "fixtures" / "k6" / "peak_pass.ndjson"
    for test in launch.load_tests.filter(key__startswith="peak"):
        run_ingest(launch, str(fixture), test=test.key, actor_name="bench")
    return Launch.objects.get(pk=launch.pk)


def timed(fn, repeat: int, cpu: list | None = None) -> float:
    """Median wall milliseconds of ``fn`` (and its median CPU milliseconds into ``cpu``)."""
    fn()
    fn()
    samples, cpu_samples = [], []
    for _ in range(repeat):
        started, started_cpu = time.perf_counter(), time.process_time()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
        cpu_samples.append((time.process_time() - started_cpu) * 1000)
    if cpu is not None:
        cpu.append(statistics.median(cpu_samples))
    return statistics.median(samples)


def measure(launch, repeat: int) -> dict:
    from django.template.loader import render_to_string

    from checklists.board import sections
    from checklists.board.pages import page_context
    from checklists.board.presenters import readiness_json
    from checklists.core.selectors import board_of, launch_with_plan

    cpu: list[float] = []
    whole = timed(lambda: sections.render_sections(launch.pk), repeat, cpu)
    fresh = launch_with_plan(pk=launch.pk)
    board = board_of(fresh)
    context = page_context(board) | {"caps": [], "csrf_token": ""}
    rendered = sections.render_sections(launch.pk)
    return {
        "plan": {
            "tasks": fresh.tasks.count(),
            "criteria": fresh.criteria.count(),
            "risks": fresh.risks.count(),
            "gates": fresh.gates.count(),
            "load_tests": fresh.load_tests.count(),
        },
        "render_ms": whole,
        "render_cpu_ms": cpu[0],
        "parts_ms": {
            "evaluate": timed(lambda: board_of(launch_with_plan(pk=launch.pk)), repeat),
            "page_context": timed(lambda: page_context(board), repeat),
            "sections": timed(
                lambda: [
                    render_to_string(f"launches/sections.html#{name}", context)
                    for name in sections.NAMES
                ],
                repeat,
            ),
            "json": timed(lambda: readiness_json(board), repeat),
        },
        "bytes": {"page": len(rendered.page), "api": len(rendered.api)},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lb-render-") as tmp:
        setup(tmp)
        import yaml

        plan = yaml.safe_load((ROOT / "checklists" / "plans" / "whatsapp-saas.yaml").read_text())
        demo = measure(load(plan), args.repeat)
        big = measure(load(times_ten(plan)), max(5, args.repeat // 3))
    result = {"demo": demo, "x10": big, "growth": big["render_ms"] / demo["render_ms"]}
    if args.json:
        print(json.dumps(result))
        return
    for name, row in (("demo", demo), ("10x", big)):
        print(
            f"{name}: {row['plan']} render {row['render_ms']:.1f} ms "
            f"(CPU {row['render_cpu_ms']:.1f} ms) {row['parts_ms']}"
        )
    print(f"growth 10x plan / demo: {result['growth']:.2f}x")


if __name__ == "__main__":
    main()
