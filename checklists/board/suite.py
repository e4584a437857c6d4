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


def _run_parts(run, previous, results, metrics, columns) -> dict:
    def limit(metric, prefix):
        for r in results:
            t = r.spec.threshold
            same = t and not t.relative and metrics.get(r.key) == metric
            if same and t.aggregate.startswith(prefix):
                return t.value
        return None

    endpoints = sorted((run.endpoints or {}).items(), key=lambda kv: -kv[1].get("requests", 0))
    return {
        "compare": evidence.compare_runs(run, previous),
        "endpoints": endpoints[:15],
        "latency": latency_figure(
            columns, limit("http_req_duration", "p(95"), limit("http_req_failed", "rate")
        )
        if columns.get("t")
        else None,
        "load": load_figure(columns) if columns.get("t") else None,
        "file_thresholds": run.thresholds or [],
    }
