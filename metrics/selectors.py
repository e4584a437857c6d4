"""What ``checklists`` may read of the evidence. Each function runs a fixed number of queries,
whatever the size of the plan."""

from __future__ import annotations

from dataclasses import dataclass

from .evidence import DERIVED, run_value
from .models import Run, RunSeries, Source

__all__ = ["DERIVED", "run_value"]  # re-exported: checklists reads evidence only from here

SOURCE_SPEC_FIELDS = ("key", "kind", "title", "config", "interval_seconds", "stale_after_seconds")


@dataclass(frozen=True)
class Want:
    """One metric criterion's request for evidence."""

    key: str
    test: str
    source: str
    metric: str
    aggregate: str
    window_s: int | None
    relative: bool
    params: dict


@dataclass(frozen=True)
class Evidence:
    """The value a criterion is judged on, or why there is none."""

    value: float | None = None
    at: object = None
    complete: bool = True
    baseline: float | None = None
    label: str = ""
    display: str = ""
    why: str = ""
    stale_after_s: int | None = None


def source_specs(launch_id: int) -> list[dict]:
    return list(Source.objects.filter(launch_id=launch_id).values(*SOURCE_SPEC_FIELDS))


def sources_for(launch_id: int) -> list[Source]:
    return list(Source.objects.filter(launch_id=launch_id))


def source_evidence(launch_id: int, wants: list[Want]) -> dict[str, Evidence]:
    """Evidence per criterion key from live sources."""
    sources = {s.key: s for s in sources_for(launch_id)}
    result = {}
    for want in wants:
        source = sources.get(want.source)
        name = source.title if source else want.source
        result[want.key] = Evidence(why=f"{name} has not reported yet.")
    return result


def test_runs(launch_id: int, tests) -> dict[str, list[Run]]:
    """Usable runs (parsed, not marked invalid) of each test, newest first; one query."""
    runs: dict[str, list[Run]] = {}
    queryset = (
        Run.objects.filter(launch_id=launch_id, test__in=list(tests), status=Run.Status.DONE)
        .filter(invalidated_at__isnull=True)
        .order_by("-ended_at", "-created_at", "-id")
    )
    for run in queryset:
        runs.setdefault(run.test, []).append(run)
    return runs


def run_series(run_ids) -> dict[int, dict]:
    """The 1-second series of these runs, by run id; one query."""
    rows = RunSeries.objects.filter(run_id__in=list(run_ids)).values_list("run_id", "points")
    return dict(rows)


# --- runs --------------------------------------------------------------------------------------
RUN_STATS_KEYS = (
    "requests", "failed", "error_rate", "rps", "p50_ms", "p90_ms", "p95_ms", "p99_ms", "max_ms",
)


def _stats(data: dict | None) -> dict | None:
    if not data:
        return None
    return {key: data.get(key) for key in RUN_STATS_KEYS} | {
        k: data[k] for k in ("avg_ms", "min_ms", "timeouts") if k in data
    }


def run_json(run, duplicate: bool = False) -> dict:
    """A run as the contract shows it (``ingest_results --json``, ``GET /api/runs/<id>/``)."""
    return {
        "id": run.pk,
        "launch": run.launch.slug if "launch" in run._state.fields_cache else run.launch_id,
        "tool": run.tool or None,
        "format": run.format or None,
        "test": run.test or None,
        "status": run.status,
        "error": run.error or None,
        "progress": run.progress or None,
        "complete": run.complete,
        "incomplete_reason": run.incomplete_reason or None,
        "duplicate": duplicate,
        "valid": run.valid,
        "invalid_reason": run.invalid_reason or None,
        "baseline": run.is_baseline,
        "sha256": run.sha256,
        "filename": run.filename,
        "started_at": run.started_at.isoformat() if run.started_at else None,
        "ended_at": run.ended_at.isoformat() if run.ended_at else None,
        "duration_s": run.duration_s,
        "overall": _stats(run.overall),
        "scenarios": {k: _stats(v) for k, v in (run.scenarios or {}).items()},
        "endpoints": {k: _stats(v) for k, v in (run.endpoints or {}).items()},
        "checks_rate": run.checks_rate,
        "thresholds": run.thresholds,
        "timeout_breakdown": run.timeout_breakdown,
    }


def run_by_id(run_id: int) -> Run | None:
    return Run.objects.select_related("launch").filter(pk=run_id).first()


def recent_runs(launch_id: int, limit: int = 10) -> list[Run]:
    """The newest runs of any state (processing, failed, invalid too), for the uploads list."""
    return list(
        Run.objects.filter(launch_id=launch_id)
        .defer("metrics", "endpoints", "scenarios", "groups", "checks")
        .order_by("-created_at", "-id")[:limit]
    )


def compare_runs(run: Run, earlier: Run | None) -> list[dict]:
    """p95, error rate and requests/s of ``run`` beside ``earlier`` with the change."""
    rows = []
    for label, key, unit in (
        ("p95", "p95_ms", "ms"),
        ("p99", "p99_ms", "ms"),
        ("Error rate", "error_rate", "%"),
        ("Requests/s", "rps", "/s"),
        ("Requests", "requests", ""),
        ("Timeouts", "timeouts", ""),
    ):
        now = (run.overall or {}).get(key)
        then = (earlier.overall or {}).get(key) if earlier else None
        delta = None if now is None or then is None else now - then
        relative = None if delta is None or not then else delta / then
        rows.append({"label": label, "key": key, "unit": unit, "now": now, "then": then,
                     "delta": delta, "relative": relative})
    return rows
