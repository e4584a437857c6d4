"""The writer of bench/realtime_bench.py: one process making committed changes at a steady rate.

    DJANGO_SETTINGS_MODULE=launchboard.settings DATABASE_URL=... REDIS_URL=... \\
        realtime_writer.py --slug whatsapp-saas --rate 5 --seconds 20 --out FILE

Alternately ticks and unticks the first manual criterion of the launch with
``criterion_tick`` (the product's own path: append_event, then after commit render the
sections once, share them in the cache and nudge the launch's group). The commit time of each
change is ``time.time()`` in a ``transaction.on_commit`` callback registered before the change
in the same ``transaction.atomic()`` block, so it runs first at commit, before the product's
after-commit work. The writer-side cost is timed by wrapping (in this process only)
``sections.render_sections``, ``sections.render_and_share`` and ``broadcast.publish``.
Prints `go` when the first change is about to be made; writes JSON to --out.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from functools import wraps
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

CURRENT: dict = {}


def timed(name: str, func):
    """``func`` adding its duration (ms) to CURRENT[name]."""

    @wraps(func)
    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        try:
            return func(*args, **kwargs)
        finally:
            spent = (time.perf_counter() - start) * 1000
            CURRENT[name] = CURRENT.get(name, 0.0) + spent

    return wrapper


def instrument() -> None:
    from checklists.board import sections
    from checklists.realtime import broadcast

    sections.render_sections = timed("render_ms", sections.render_sections)
    sections.render_and_share = timed("render_and_share_ms", sections.render_and_share)
    broadcast.publish = timed("publish_ms", broadcast.publish)


def criterion_of(slug: str):
    from checklists.models import Criterion

    manual = Criterion.objects.filter(launch__slug=slug, kind=Criterion.Kind.MANUAL)
    return manual.select_related("launch").order_by("order", "pk").first()


def change(criterion) -> tuple[object, dict]:
    """One committed tick or untick; returns the criterion and the change's record."""
    from django.db import transaction

    from checklists.core.services import criterion_tick

    CURRENT.clear()
    record = {"begin": time.time()}

    def committed():
        record["commit"] = time.time()

    with transaction.atomic():
        transaction.on_commit(committed)  # first in line: runs before the product's own
        criterion = criterion_tick(
            criterion, checked=not criterion.checked, actor=None, reason="bench"
        )
    record["done"] = time.time()
    record["version"] = criterion.launch.version
    record.update(CURRENT)
    return criterion, record


def run(slug: str, rate: float, seconds: float) -> dict:
    from checklists.board.sections import render_sections

    criterion = criterion_of(slug)
    start = time.perf_counter()
    render_sections(criterion.launch_id)  # compile the templates once, as a live server has
    warm_ms = (time.perf_counter() - start) * 1000
    records = []
    print("go", flush=True)
    origin = time.monotonic()
    for i in range(int(rate * seconds)):
        delay = origin + i / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        criterion, record = change(criterion)
        record["late_ms"] = max(0.0, -delay * 1000)
        records.append(record)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "criterion": criterion.key,
        "first_render_ms": warm_ms,
        "elapsed_s": time.monotonic() - origin,
        "changes": records,
        "cpu_s": usage.ru_utime + usage.ru_stime,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slug", default="whatsapp-saas")
    parser.add_argument("--rate", type=float, default=5.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    import django

    django.setup()
    instrument()
    result = run(args.slug, args.rate, args.seconds)
    Path(args.out).write_text(json.dumps(result))
    print("done", flush=True)


if __name__ == "__main__":
    main()
