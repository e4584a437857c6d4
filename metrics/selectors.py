"""What ``checklists`` may read of the evidence. Each function runs a fixed number of queries,
whatever the size of the plan."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone

from .collectors import window_of
from .evidence import DERIVED, run_value
from .models import Run, RunSeries, Source, SourceReading, SourceSeries

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
    threshold: object = None  # the parsed threshold, for checks over a history of polls


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
    stale_reason: str = ""
    history: tuple = ()


_reads: ContextVar[dict | None] = ContextVar("evidence_reads", default=None)


@contextmanager
def one_read() -> Iterator[None]:
    """Inside this block each launch's sources and runs are read once: one rendering of a
    launch reads its evidence once, however many parts of the page show it."""
    token = _reads.set({})
    try:
        yield
    finally:
        _reads.reset(token)


def _once(key: tuple, read):
    reads = _reads.get()
    if reads is None:
        return read()
    if key not in reads:
        reads[key] = read()
    return reads[key]


def source_specs(launch_id: int) -> list[dict]:
    return [{f: getattr(s, f) for f in SOURCE_SPEC_FIELDS} for s in sources_for(launch_id)]


def sources_for(launch_id: int) -> list[Source]:
    return _once(("sources", launch_id), lambda: list(Source.objects.filter(launch_id=launch_id)))


def unconfigured_sources(launch_id: int) -> dict[str, str]:
    """{key: title} of the launch's sources this installation has not configured."""
    return {s.key: s.title for s in sources_for(launch_id) if not s.configured}


HISTORY = 20  # readings kept per query for sustained criteria


def _recent_readings(launch_id: int) -> dict[tuple, list[SourceReading]]:
    """Readings of the last hour per (source, metric, aggregate, window), newest first."""
    since = timezone.now() - timedelta(hours=1)
    rows = SourceReading.objects.filter(source__launch_id=launch_id, polled_at__gte=since).order_by(
        "-polled_at", "-id"
    )[:20000]
    grouped: dict[tuple, list[SourceReading]] = {}
    for r in rows:
        key = (r.source_id, r.metric, r.aggregate, r.window_s)
        if len(grouped.setdefault(key, [])) < HISTORY:
            grouped[key].append(r)
    return grouped


def source_evidence(launch_id: int, wants: list[Want]) -> dict[str, Evidence]:
    """Evidence per criterion key from live sources. No data is never a value to pass on: an
    unconfigured, silent or failing source gives a reason instead, and data that stopped is
    stale."""
    if not wants:
        return {}
    sources = {s.key: s for s in sources_for(launch_id)}
    readings = _recent_readings(launch_id)
    result = {}
    for want in wants:
        source = sources.get(want.source)
        if source is None:
            result[want.key] = Evidence(why=f"The source {want.source} no longer exists.")
            continue
        key = (source.pk, want.metric, want.aggregate, window_of(source.kind, want.window_s))
        result[want.key] = _live_evidence(source, want, readings.get(key, []))
    return result


def _since(moment) -> str:
    return moment.strftime("%H:%M UTC") if moment else "never"


def _live_evidence(source: Source, want: Want, rows: list[SourceReading]) -> Evidence:
    label = source.title
    if source.consecutive_failures:
        label += f" (failing since {_since(source.last_error_at)}: {source.last_error})"
    if not source.configured:
        return Evidence(
            why=f"{source.title} is not configured: {source.status_note}.", display="not configured"
        )
    if not rows:
        if source.consecutive_failures:
            return Evidence(why=f"{label}; no data yet.")
        return Evidence(why=f"{source.title} has not reported yet.")
    with_data = next((r for r in rows if r.value is not None), None)
    history = tuple(r.value for r in reversed(rows))
    if with_data is None:
        state = rows[0].text.split(":")[0] if rows[0].text else ""
        if state:  # an alarm without a usable state: INSUFFICIENT_DATA or MISSING
            return Evidence(why=f"Alarm {want.metric} is {rows[0].text}.", display=state)
        minutes = window_of(source.kind, want.window_s) // 60
        return Evidence(why=f"No data from {source.title} in the last {minutes} min.")
    stale = ""
    if rows[0].value is None:  # the window is empty now: the data stopped
        stale = f"{source.title} has had no data since {_since(with_data.at)}."
    display = with_data.text.split(":")[0] if with_data.text else ""
    return Evidence(
        value=with_data.value,
        at=with_data.at or with_data.polled_at,
        label=label,
        display=display,
        stale_after_s=source.stale_after_seconds,
        stale_reason=stale,
        history=history,
    )


def test_runs(launch_id: int, tests) -> dict[str, list[Run]]:
    """Usable runs (parsed, not marked invalid) of each test, newest first; one query."""
    tests = set(tests)
    return {test: rs for test, rs in _usable_runs(launch_id).items() if test in tests}


def _usable_runs(launch_id: int) -> dict[str, list[Run]]:
    def read():
        runs: dict[str, list[Run]] = {}
        queryset = (
            Run.objects.filter(launch_id=launch_id, status=Run.Status.DONE)
            .exclude(test="")
            .filter(invalidated_at__isnull=True)
            .order_by("-ended_at", "-created_at", "-id")
        )
        for run in queryset:
            runs.setdefault(run.test, []).append(run)
        return runs

    return _once(("runs", launch_id), read)


def run_series(run_ids) -> dict[int, dict]:
    """The 1-second series of these runs, by run id; one query."""
    rows = RunSeries.objects.filter(run_id__in=list(run_ids)).values_list("run_id", "points")
    return dict(rows)


# --- runs --------------------------------------------------------------------------------------
RUN_STATS_KEYS = (
    "requests",
    "failed",
    "error_rate",
    "rps",
    "p50_ms",
    "p90_ms",
    "p95_ms",
    "p99_ms",
    "max_ms",
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
        "encoding": run.encoding or None,
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
        rows.append(
            {
                "label": label,
                "key": key,
                "unit": unit,
                "now": now,
                "then": then,
                "delta": delta,
                "relative": relative,
            }
        )
    return rows


def live_series(launch_id: int) -> dict[tuple, dict]:
    """Chart series per (source key, metric, aggregate, window_s); one query."""
    rows = SourceSeries.objects.filter(source__launch_id=launch_id).select_related("source")
    return {(r.source.key, r.metric, r.aggregate, r.window_s): r.points for r in rows}


def runs_by_sha(launch_id: int, shas) -> dict[str, Run]:
    """The newest parsed run of the launch with each content hash."""
    found: dict[str, Run] = {}
    for run in Run.objects.filter(launch_id=launch_id, sha256__in=list(shas)).order_by(
        "-created_at", "-id"
    ):
        found.setdefault(run.sha256, run)
    return found


def earlier_run(run: Run) -> Run | None:
    """The complete run of the same test made before ``run`` (what a report compares with)."""
    return (
        Run.objects.filter(
            launch_id=run.launch_id,
            test=run.test,
            status=Run.Status.DONE,
            complete=True,
            created_at__lt=run.created_at,
        )
        .order_by("-created_at", "-id")
        .first()
    )
