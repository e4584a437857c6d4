"""The load-test suite section: per test, its criteria, newest run, charts and the comparison
with the run before (a fixed number of queries for any number of tests)."""

from __future__ import annotations

from checklists.board.charts import latency_figure, load_figure
from metrics import selectors as evidence


def suite_of(launch, readiness) -> list[dict]:
    tests = list(launch.load_tests.all())
    runs = evidence.test_runs(launch.pk, [t.key for t in tests])
    metrics = {c.key: c.metric for c in launch.criteria.all()}
    latest, previous = {}, {}
    for key, rs in runs.items():
        complete = [r for r in rs if r.complete]
        latest[key] = complete[0] if complete else rs[0]
        previous[key] = next((r for r in complete if r.pk != latest[key].pk), None)
    series = evidence.run_series([r.pk for r in latest.values()])
    rows = []
    for test in tests:
        results = [c for c in readiness.criteria if c.spec.test == test.key]
        run = latest.get(test.key)
        row = {
            "test": test,
            "criteria": results,
            "run": run,
            "previous": previous.get(test.key),
            "latency_id": f"fig-latency-{test.key}",
            "load_id": f"fig-load-{test.key}",
        }
        if run is not None:
            row |= _run_parts(
                run, previous.get(test.key), results, metrics, series.get(run.pk) or {}
            )
        rows.append(row)
    return rows


def chart_limits(thresholds) -> tuple[float | None, float | None]:
    """(p95 limit in ms, error-rate limit 0..1) to draw on a run's chart, from the
    (metric, threshold) pairs of its test's criteria; None where the plan sets none."""

    def limit(metric, prefix):
        for name, t in thresholds:
            if t and not t.relative and name == metric and t.aggregate.startswith(prefix):
                return t.value
        return None

    thresholds = list(thresholds)
    return limit("http_req_duration", "p(95"), limit("http_req_failed", "rate")


def _run_parts(run, previous, results, metrics, columns) -> dict:
    limits = chart_limits((metrics.get(r.key), r.spec.threshold) for r in results)
    endpoints = sorted((run.endpoints or {}).items(), key=lambda kv: -kv[1].get("requests", 0))
    return {
        "compare": evidence.compare_runs(run, previous),
        "endpoints": endpoints[:15],
        "latency": latency_figure(columns, *limits) if columns.get("t") else None,
        "load": load_figure(columns) if columns.get("t") else None,
        "file_thresholds": run.thresholds or [],
    }
