"""How long drafting a plan from markdown takes: the seed, and the seed ten times over (one
document), so the draft's cost is seen to grow with the document and no faster.

    .venv/bin/python bench/markdown_bench.py [--repeat 20]

Pure (no database): markdown_text + markdown_draft, which also loads the draft as a plan.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "tests" / "fixtures" / "markdown" / "launch-action-plan.md"


def timed(data: bytes, repeat: int) -> tuple[float, int]:
    # imported once main() has put the repository on sys.path (the bench runs as a script)
    from checklists.engine.markdown_plan import markdown_draft, markdown_text

    runs, draft = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        draft = markdown_draft(markdown_text(data, "plan.md"), "plan.md")
        runs.append(time.perf_counter() - start)
    return statistics.median(runs) * 1000, len(draft.plan.tasks)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    seed = SEED.read_bytes()
    one, tasks = timed(seed, args.repeat)
    ten, tasks10 = timed(seed * 10, max(3, args.repeat // 4))
    print(f"seed: {len(seed):,} bytes, {tasks} tasks, {one:.1f} ms")
    print(f"10x: {len(seed) * 10:,} bytes, {tasks10} tasks, {ten:.1f} ms")
    print(f"growth 10x / seed: {ten / one:.2f}x")


if __name__ == "__main__":
    main()
