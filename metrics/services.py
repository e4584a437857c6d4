"""Writes to the evidence: live sources from the plan, and load-test runs (ingest, invalidate,
pin as baseline). Every change to a run is announced inside its transaction, so the launch's
Event log records it (see metrics/signals.py)."""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from celery import current_app
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from . import collectors, uploads
from .models import Run, RunSeries, Source, SourceReading, SourceSeries
from .parsers import ParseError, RunResult, detect_format, parse_file
from .signals import evidence_recorded, ingest_progress, live_sample

# An alarm's state as the number its criterion judges (value==0 means OK).
ALARM_VALUES = {"OK": 0.0, "ALARM": 1.0}

SOURCE_FIELDS = (
    "kind",
    "title",
    "config",
    "interval_seconds",
    "stale_after_seconds",
    "queries",
)
POLL_TASK = "metrics.tasks.poll_source"
INGEST_TASK = "metrics.tasks.ingest_run"
KEEP_READINGS = timedelta(hours=24)


def sources_sync(launch, specs: list[dict]) -> list[str]:
    """Make the launch's sources match ``specs`` (plan order), each polled by Celery beat on its
    interval. Health of kept sources is kept."""
    existing = {s.key: s for s in Source.objects.filter(launch=launch)}
    changes = []
    for order, spec in enumerate(specs):
        values = {name: spec.get(name, []) for name in SOURCE_FIELDS} | {"order": order}
        source = existing.pop(spec["key"], None)
        if source is None:
            source = Source.objects.create(launch=launch, key=spec["key"], **values)
            changes.append(f"source {spec['key']} added")
        else:
            changed = [name for name, value in values.items() if getattr(source, name) != value]
            for name in changed:
                setattr(source, name, values[name])
            if changed:
                source.save(update_fields=changed)
                changes.append(f"source {spec['key']} changed ({', '.join(changed)})")
        _check_configured(source)
        _schedule(source)
    for key, source in existing.items():
        _unschedule(source)
        source.delete()
        changes.append(f"source {key} removed")
    return changes


def _spec(source: Source) -> collectors.SourceSpec:
    return collectors.SourceSpec(source.key, source.kind, source.config)


def _check_configured(source: Source, env=os.environ) -> bool:
    configured, reason = collectors.is_configured(_spec(source), env)
    if (configured, reason[:300]) != (source.configured, source.status_note):
        source.configured, source.status_note = configured, reason[:300]
        source.save(update_fields=["configured", "status_note"])
    return configured


def _task_name(source: Source) -> str:
    return f"poll source {source.launch_id}:{source.key}"


def _schedule(source: Source) -> None:
    """One django-celery-beat entry per source; its interval can be changed at run time in the
    admin. The plan's interval is applied when the plan changes it."""
    every, _ = IntervalSchedule.objects.get_or_create(
        every=source.interval_seconds, period=IntervalSchedule.SECONDS
    )
    task, created = PeriodicTask.objects.get_or_create(
        name=_task_name(source),
        defaults={"task": POLL_TASK, "interval": every, "args": f"[{source.pk}]"},
    )
    if not created and (task.interval_id, task.args) != (every.pk, f"[{source.pk}]"):
        task.interval, task.args = every, f"[{source.pk}]"
        task.save(update_fields=["interval", "args"])


def _unschedule(source: Source) -> None:
    PeriodicTask.objects.filter(name=_task_name(source)).delete()


# --- polling -------------------------------------------------------------------------------------
@dataclass
class PollOutcome:
    source: Source
    status: str  # polled, not_configured, failed, busy
    readings: int = 0
    error: collectors.SourceError | None = None


def _lease(source: Source, now, seconds: float) -> bool:
    """Take the source for one poll, so a retry and a scheduled poll never overlap."""
    taken = (
        Source.objects.filter(pk=source.pk)
        .filter(Q(polling_until__isnull=True) | Q(polling_until__lt=now))
        .update(polling_until=now + timedelta(seconds=seconds))
    )
    return bool(taken)


def source_poll(source_id: int, *, now=None, env=os.environ, timeout_s: float = 5.0) -> PollOutcome:
    """Poll one source once: store its readings and health, or record why it failed. Never
    raises SourceError: the outcome carries it, so callers decide about retrying."""
    source = Source.objects.get(pk=source_id)
    now = now or timezone.now()
    if not _check_configured(source, env):
        Source.objects.filter(pk=source.pk).update(last_polled_at=now)
        return PollOutcome(source, "not_configured")
    if not _lease(source, now, 3 * timeout_s + 10):
        return PollOutcome(source, "busy")
    try:
        queries = [collectors.Query(m, a, int(w)) for m, a, w in source.queries]
        result = collectors.poll(_spec(source), queries, now=now, env=env, timeout_s=timeout_s)
    except collectors.SourceError as exc:
        _record_failure(source, exc, now)
        return PollOutcome(source, "failed", error=exc)
    finally:
        Source.objects.filter(pk=source.pk).update(polling_until=None)
    count = _record_success(source, result, now)
    live_sample.send(sender=Source, launch_id=source.launch_id, source_id=source.pk)
    return PollOutcome(source, "polled", readings=count)


def _record_success(source: Source, result, now) -> int:
    rows = [
        SourceReading(
            source=source,
            metric=r.metric,
            aggregate=r.aggregate,
            window_s=r.window_s,
            value=r.value,
            count=r.count,
            at=r.at,
            polled_at=now,
        )
        for r in result.readings
    ]
    rows += [
        SourceReading(
            source=source,
            metric=a.name,
            aggregate="value",
            window_s=0,
            value=ALARM_VALUES.get(a.state),
            # the state is known as of this poll: an alarm OK for a week is news now, not a
            # week-old reading (it would turn stale five minutes after its last change)
            at=now,
            text=f"{a.state}: {a.reason} (since {a.updated_at:%Y-%m-%d %H:%M} UTC)"[:500],
            polled_at=now,
        )
        for a in result.alarms
    ]
    recovered = source.consecutive_failures > 0
    with transaction.atomic():
        SourceReading.objects.bulk_create(rows)
        for r in result.readings:
            points = {"t": [t.isoformat() for t, _ in r.series], "v": [v for _, v in r.series]}
            SourceSeries.objects.update_or_create(
                source=source,
                metric=r.metric,
                aggregate=r.aggregate,
                window_s=r.window_s,
                defaults={"points": points},
            )
        source.last_polled_at = source.last_success_at = now
        source.last_error, source.consecutive_failures = "", 0
        source.save(
            update_fields=[
                "last_polled_at",
                "last_success_at",
                "last_error",
                "consecutive_failures",
            ]
        )
        SourceReading.objects.filter(source=source, polled_at__lt=now - KEEP_READINGS).delete()
        if recovered:
            _announce_source(source, "source.recovered", f"{source.title} answers again")
    return len(rows)


def _record_failure(source: Source, exc, now) -> None:
    with transaction.atomic():
        first = source.consecutive_failures == 0
        source.last_polled_at, source.last_error_at = now, now
        source.last_error = exc.message[:500]
        source.consecutive_failures += 1
        source.save(
            update_fields=["last_polled_at", "last_error_at", "last_error", "consecutive_failures"]
        )
        if first:  # one Event when a source starts failing, not one per failed poll
            _announce_source(source, "source.failed", f"{source.title} is failing: {exc.message}")


def _announce_source(source: Source, kind: str, summary: str) -> None:
    evidence_recorded.send(
        sender=Source,
        launch_id=source.launch_id,
        kind=kind,
        subject=f"source:{source.key}",
        summary=summary[:300],
        actor_name="collector",
        before=None,
        after={"source": source.key, "error": source.last_error or None},
    )


# --- load-test runs ----------------------------------------------------------------------------
log = logging.getLogger(__name__)
LOCUST_PARTS = ("_stats.csv", "_stats_history.csv", "_failures.csv", "_exceptions.csv")
# Locust <= 0.13.2 wrote its counts and its percentiles to two files; either one names both
LOCUST_OLD_PAIR = ("_requests.csv", "_distribution.csv")
RESULT_FIELDS = (
    "tool",
    "format",
    "complete",
    "incomplete_reason",
    "started_at",
    "ended_at",
    "duration_s",
    "checks_rate",
    "lines",
)
RESULT_JSON_FIELDS = (
    "overall",
    "scenarios",
    "endpoints",
    "checks",
    "groups",
    "thresholds",
    "metrics",
    "timeout_breakdown",
    "warnings",
)
SERIES_COLUMNS = ("t", "requests", "failures", "p95_ms", "vus")


class IngestError(Exception):
    """A result file that cannot become a run; ``str()`` is the plain-words reason."""


@dataclass
class Ingested:
    run: Run
    duplicate: bool


def content_files(path: str | os.PathLike) -> list[Path]:
    """The files a result consists of: the file, or a Locust --csv prefix's parts (and the
    other half of Locust <= 0.13.2's _requests.csv / _distribution.csv pair)."""
    path = Path(path)
    if path.is_file():
        for suffix in LOCUST_OLD_PAIR:
            if path.name.endswith(suffix):
                prefix = str(path)[: -len(suffix)]
                pair = [Path(prefix + s) for s in LOCUST_OLD_PAIR]
                return [p for p in pair if p.is_file()]
        return [path]
    parts = [Path(f"{path}{suffix}") for suffix in (*LOCUST_PARTS, *LOCUST_OLD_PAIR)]
    found = [p for p in parts if p.is_file()]
    if not found:
        raise IngestError(f"{path}: no such file (nor Locust files {path}_stats.csv ...)")
    return found


def content_sha256(path: str | os.PathLike, stop: threading.Event | None = None) -> str:
    """SHA-256 of the result's bytes on disk ("" if ``stop`` is set before the end)."""
    digest = hashlib.sha256()
    for part in content_files(path):
        with part.open("rb") as f:
            while chunk := f.read(1 << 20):
                if stop is not None and stop.is_set():
                    return ""
                digest.update(chunk)
    return digest.hexdigest()


def _result_values(result: RunResult) -> dict:
    data = result.to_dict()
    values = {name: getattr(result, name) for name in RESULT_FIELDS}
    values |= {name: data[name] for name in RESULT_JSON_FIELDS}
    values["incomplete_reason"] = values["incomplete_reason"] or ""
    values["encoding"] = result.encoding or ""
    return values


def _series_columns(result: RunResult) -> dict:
    return {c: [getattr(p, c) for p in result.series] for c in SERIES_COLUMNS}


def _percent(value) -> str:
    return "—" if value is None else f"{value * 100:.2f}".rstrip("0").rstrip(".") + "%"


def run_summary(run: Run) -> str:
    o = run.overall or {}
    p95 = o.get("p95_ms")
    p95_text = f", p95 {p95:,.0f} ms" if p95 is not None else ""
    state = "" if run.complete else " (interrupted)"
    name = f"{run.test} run" if run.test else "Run"
    return (
        f"{name} #{run.pk} ingested{state} ({run.tool}): {o.get('requests', 0):,} requests, "
        f"{_percent(o.get('error_rate'))} errors{p95_text}"
    )


def _announce(run: Run, kind: str, summary: str, actor_name: str, after=None) -> None:
    evidence_recorded.send(
        sender=Run,
        launch_id=run.launch_id,
        kind=kind,
        subject=f"run:{run.pk}",
        summary=summary,
        actor_name=actor_name,
        before=None,
        after=after,
    )


def _store_result(run: Run, result: RunResult, actor_name: str) -> None:
    """Write the parsed figures and announce them, in one transaction."""
    with transaction.atomic():
        for name, value in _result_values(result).items():
            setattr(run, name, value)
        run.status, run.error, run.progress = Run.Status.DONE, "", {"percent": 100}
        run.save()
        RunSeries.objects.update_or_create(run=run, defaults={"points": _series_columns(result)})
        _announce(
            run,
            "run.ingested",
            run_summary(run),
            actor_name,
            after={
                "run": run.pk,
                "test": run.test,
                "overall": run.overall,
                "complete": run.complete,
                "sha256": run.sha256,
            },
        )


def run_ingest(
    launch,
    path,
    *,
    test: str = "",
    fmt: str = "auto",
    filename: str = "",
    via: str = Run.Via.CLI,
    actor_name: str = "",
    progress=None,
    parsed=None,
) -> Ingested:
    """Hash, de-duplicate, parse and store one result file, synchronously (the CLI path).

    The file is hashed in a second thread while it is parsed (hashlib works without the GIL),
    so ingesting costs one pass, not two; a file ingested before is noticed as soon as its
    hash is known, and its parse abandoned. ``parsed``: a parse already under way elsewhere
    (parsers.ahead), used instead of parsing here. A file that cannot be parsed raises
    IngestError and stores nothing.
    """
    files = content_files(path)
    stop = threading.Event()
    with ThreadPoolExecutor(1, thread_name_prefix="sha256") as pool:
        hashing = pool.submit(content_sha256, path, stop)
        seen: list[Run] = []

        def look_for_duplicate(done: int, total: int, lines: int) -> None:
            if not seen and hashing.done():
                seen.append(_usable_run(launch, hashing.result()) or Run())
                if seen[0].pk:
                    raise _AlreadyIngested
            if progress is not None:
                progress(done, total, lines)

        try:
            result = parsed.result(look_for_duplicate) if parsed is not None else None
            if result is None:  # none under way, or it could not finish: parse here
                result = parse_file(path, fmt, progress=look_for_duplicate)
        except _AlreadyIngested:
            return Ingested(seen[0], duplicate=True)
        except ParseError as exc:
            stop.set()  # no run will be stored: the hash is not needed
            raise IngestError(str(exc)) from None
        except BaseException:  # cancelled (Ctrl-C, a progress callback): stop hashing too
            stop.set()
            raise
        sha = hashing.result()
    existing = Run.objects.select_related("launch").filter(launch=launch, sha256=sha).first()
    if existing is not None and existing.status != Run.Status.FAILED:
        return Ingested(existing, duplicate=True)
    run = existing or Run(launch=launch, sha256=sha)
    run.test, run.via, run.created_by = test, via, actor_name
    run.filename = (filename or files[0].name)[:255]
    run.size_bytes = sum(f.stat().st_size for f in files)
    try:
        _store_result(run, result, actor_name)
    except IntegrityError:  # the same file, ingested meanwhile by someone else
        return Ingested(Run.objects.get(launch=launch, sha256=sha), duplicate=True)
    return Ingested(run, duplicate=False)


class _AlreadyIngested(Exception):
    """Stops the parse of a file whose hash matches a run already there."""


def _usable_run(launch, sha: str) -> Run | None:
    run = Run.objects.select_related("launch").filter(launch=launch, sha256=sha).first()
    return run if run is not None and run.status != Run.Status.FAILED else None


def run_begin_upload(
    launch, stored_path: Path, *, size: int, fmt: str, filename: str, via: str, actor_name: str
) -> Run:
    """Register an upload whose first bytes are on disk and queue its parsing at once: the
    worker follows the file while it arrives (uploads.GrowingFile). Its hash, and so whether it
    is a duplicate, is known only at the end (run_finish_upload)."""
    run = Run(launch=launch, sha256=f"{uploads.RECEIVING}{uuid.uuid4().hex}", test="")
    run.via, run.created_by, run.filename = via, actor_name, filename[:255]
    run.size_bytes, run.stored_path, run.format = size, str(stored_path), fmt
    run.status, run.error, run.progress = Run.Status.PROCESSING, "", {"percent": 0}
    run.queued_at = timezone.now()
    with transaction.atomic():
        run.save()
        transaction.on_commit(lambda: _enqueue(run.pk))
    return run


def run_finish_upload(run: Run, *, sha256: str, size: int, test: str) -> Ingested:
    """The upload ``run_begin_upload`` registered has arrived whole. The same content ingested
    before makes it a duplicate: the new run is removed and the earlier one returned."""
    path = Path(run.stored_path)
    existing = _usable_run(run.launch, sha256)
    if existing is not None:
        run_abort_upload(run, "the same file was ingested before")
        return Ingested(existing, duplicate=True)
    try:
        with transaction.atomic():
            # No test chosen: the one inferred meanwhile (if the parse finished) is kept.
            chosen = {"test": test} if test else {}
            updated = Run.objects.filter(pk=run.pk, sha256=run.sha256).update(
                sha256=sha256, size_bytes=size, **chosen
            )
    except IntegrityError:  # the same file, finished meanwhile by another upload
        run_abort_upload(run, "the same file was ingested meanwhile")
        return Ingested(Run.objects.get(launch=run.launch, sha256=sha256), duplicate=True)
    if updated:
        uploads.mark_complete(path)
    run.refresh_from_db()
    return Ingested(run, duplicate=False)


def run_abort_upload(run: Run, reason: str) -> None:
    """An upload that will not be used (refused, cut off, a duplicate): no trace of it stays.
    A worker already following the file stops when it finds it gone."""
    log.info("upload of run #%s abandoned: %s", run.pk, reason)
    Run.objects.filter(pk=run.pk, sha256__startswith=uploads.RECEIVING).delete()
    Path(run.stored_path).unlink(missing_ok=True)


def run_accept_upload(
    launch,
    stored_path: Path,
    *,
    sha256: str,
    size: int,
    test: str,
    fmt: str,
    filename: str,
    via: str,
    actor_name: str,
) -> Ingested:
    """Register an uploaded file (already streamed to disk) and queue its parsing."""
    existing = Run.objects.filter(launch=launch, sha256=sha256).first()
    if existing is not None and existing.status != Run.Status.FAILED:
        stored_path.unlink(missing_ok=True)
        return Ingested(existing, duplicate=True)
    run = existing or Run(launch=launch, sha256=sha256)
    run.test, run.via, run.created_by, run.filename = test, via, actor_name, filename[:255]
    run.size_bytes, run.stored_path, run.format = size, str(stored_path), fmt
    run.status, run.error, run.progress = Run.Status.PROCESSING, "", {"percent": 0}
    run.heartbeat_at, run.queued_at = None, timezone.now()
    try:
        with transaction.atomic():
            run.save()
            transaction.on_commit(lambda: _enqueue(run.pk))
    except IntegrityError:
        stored_path.unlink(missing_ok=True)
        return Ingested(Run.objects.get(launch=launch, sha256=sha256), duplicate=True)
    return Ingested(run, duplicate=False)


class _Progress:
    """Throttled progress: saved on the run and sent to open pages at most twice a second."""

    def __init__(self, run: Run):
        self.run, self.last, self.me = run, 0.0, _me()

    def beat(self) -> None:
        """Alive, waiting for an upload's next bytes: keep the run from looking stalled."""
        self._still_mine(
            Run.objects.filter(pk=self.run.pk, claimed_by=self.me).update(
                heartbeat_at=timezone.now()
            )
        )

    def _still_mine(self, updated: int) -> None:
        if not updated:  # another worker took the run over: stop parsing it
            raise uploads.UploadStopped("another worker took this run over")

    def __call__(self, bytes_read: int, total: int, lines: int) -> None:
        now = time.monotonic()
        if now - self.last < 0.5:
            return
        self.last = now
        percent = round(100 * bytes_read / total, 1) if total else None
        progress = {"bytes": bytes_read, "total": total, "lines": lines, "percent": percent}
        self._still_mine(
            Run.objects.filter(pk=self.run.pk, claimed_by=self.me).update(
                progress=progress, heartbeat_at=timezone.now()
            )
        )
        ingest_progress.send(
            sender=Run, launch_id=self.run.launch_id, run_id=self.run.pk, **progress
        )


def _stall_cutoff():
    return timezone.now() - timedelta(seconds=settings.RUN_STALL_SECONDS)


# A parse beats at least twice a second; a claim silent this long belongs to a dead worker
# (on another host, where its pid cannot be looked at).
CLAIM_SILENCE_S = 10.0


def _me() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _claimant_dead(claimed_by: str, heartbeat_at, now) -> bool:
    """Whether the process that claimed a run is gone: no heartbeat yet, a heartbeat past the
    stall or silence limits, or a process of this host that no longer exists (a pool child
    killed: Celery redelivers its task at once, and this lets it start at once)."""
    if heartbeat_at is None or heartbeat_at < _stall_cutoff():
        return True
    if (now - heartbeat_at).total_seconds() > CLAIM_SILENCE_S:
        return True
    host, _, pid = claimed_by.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    if int(pid) == os.getpid():
        return False  # this very process: a requeued copy of the task it is running
    return not _process_alive(int(pid))


def _process_alive(pid: int) -> bool:
    """Whether ``pid`` is a running process of this host. A killed pool child stays a zombie
    until its parent reaps it, and a redelivered task can arrive before that: a zombie is dead."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            state = stat.read().rsplit(b")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True  # no /proc: trust kill(0)
    return state not in (b"Z", b"X")


def _claim(run_id: int) -> bool:
    """Take the run if nobody alive holds it: compare-and-set on the claimant and heartbeat
    read, so of two takers exactly one wins."""
    row = (
        Run.objects.filter(pk=run_id, status=Run.Status.PROCESSING)
        .values("claimed_by", "heartbeat_at")
        .first()
    )
    now = timezone.now()
    if row is None or not _claimant_dead(row["claimed_by"], row["heartbeat_at"], now):
        return False
    if row["claimed_by"] and row["heartbeat_at"] is not None:
        log.warning("run #%s: its claimant %s is gone; taking it over", run_id, row["claimed_by"])
    return bool(
        Run.objects.filter(
            pk=run_id,
            status=Run.Status.PROCESSING,
            claimed_by=row["claimed_by"],
            heartbeat_at=row["heartbeat_at"],
        ).update(claimed_by=_me(), heartbeat_at=now)
    )


def run_process(run_id: int) -> Run | None:
    """Parse an uploaded run (the Celery task body). Idempotent: a run that is no longer
    processing, or that a live worker is parsing, is left alone, so a redelivered or requeued
    task does nothing twice; a run whose worker died is taken over (see _claimant_dead)."""
    run = Run.objects.filter(pk=run_id).first() if _claim(run_id) else None
    if run is None:
        return None
    path = Path(run.stored_path)
    try:
        result, reason = _parse_stored(run, path), ""
    except (ParseError, uploads.UploadStopped) as exc:
        result, reason = None, str(exc)
    current = Run.objects.filter(pk=run.pk).first()  # an upload's test and hash come last
    if current is None:  # an upload the web process abandoned (refused, a duplicate)
        path.unlink(missing_ok=True)
        uploads.remove_markers(path)
        return None
    run = current
    with transaction.atomic():
        # Only the claimant records it (a worker thought dead may still finish: it does not,
        # and leaves the file to the one that took the run over).
        mine = Run.objects.select_for_update().filter(
            pk=run.pk, status=Run.Status.PROCESSING, claimed_by=_me()
        )
        if not mine:
            return None
        if result is None:
            _fail(run, reason)
        else:
            _store_result(run, result, run.created_by)
    _drop_upload(run)
    return run


def _parse_stored(run: Run, path: Path):
    """Parse the run's file, following it while it still arrives (an API upload)."""
    progress = _Progress(run)
    if not run.sha256.startswith(uploads.RECEIVING):
        return parse_file(path, run.format or "auto", progress=progress)
    fmt = run.format or detect_format(path)  # its first bytes are there: the web sniffed them
    with uploads.GrowingFile(path, total=run.size_bytes, on_wait=progress.beat) as growing:
        return parse_file(growing, fmt, progress=progress)


def _drop_upload(run: Run) -> None:
    """The uploaded file has served (parsed, or given up on): remove it."""
    if run.stored_path:
        Path(run.stored_path).unlink(missing_ok=True)
        uploads.remove_markers(Path(run.stored_path))
    Run.objects.filter(pk=run.pk).update(stored_path="")


def run_give_up(run_id: int, reason: str) -> None:
    """Fail a run still processing (its parse ran out of time), and drop its file."""
    with transaction.atomic():
        run = (
            Run.objects.select_for_update().filter(pk=run_id, status=Run.Status.PROCESSING).first()
        )
        if run is None:
            return
        _fail(run, reason)
    _drop_upload(run)


def _enqueue(run_id: int) -> None:
    """Send the parse task, once, without retrying: the run row is the outbox. If the broker
    is away or hung (kombu's socket timeout is 5 s), the run stays queued in the database and
    runs_requeue_stalled sends it again later; the upload itself has succeeded."""
    try:
        # by name: the task module imports this one, not the other way round
        current_app.signature(INGEST_TASK, args=[run_id]).apply_async(retry=False)
    except Exception:
        log.warning("could not queue run #%s; it will be queued again later", run_id, exc_info=True)


def runs_requeue_stalled() -> int:
    """Queue again the uploads whose worker died mid-parse (no heartbeat for
    RUN_STALL_SECONDS) or whose task never started (queued that long ago and lost with an
    embedded server, or waiting behind a long one: a spare task is harmless, see run_process).
    Each run at most once per RUN_STALL_SECONDS."""
    cutoff = _stall_cutoff()
    stalled = list(
        Run.objects.filter(status=Run.Status.PROCESSING)
        .filter(Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True))
        .filter(Q(queued_at__lt=cutoff) | Q(queued_at__isnull=True))
        .values_list("pk", flat=True)
    )
    Run.objects.filter(pk__in=stalled).update(queued_at=timezone.now())
    for run_id in stalled:
        _enqueue(run_id)
        log.warning(
            "run #%s had stalled (its worker died or its task was lost): queued again", run_id
        )
    return len(stalled)


def _fail(run: Run, reason: str) -> None:
    with transaction.atomic():
        run.status, run.error = Run.Status.FAILED, reason[:500]
        run.save(update_fields=["status", "error"])
        name = f"{run.test} upload" if run.test else "Upload"
        _announce(
            run,
            "run.failed",
            f"{name} #{run.pk} could not be used: {reason}"[:300],
            run.created_by,
            after={"run": run.pk, "error": reason[:500]},
        )


def run_invalidate(run: Run, *, reason: str, actor_name: str) -> None:
    """Mark a run as not evidence (flaky infrastructure...); the reason is kept."""
    if not reason.strip():
        raise IngestError("say why the run is invalid")
    with transaction.atomic():
        run.invalid_reason, run.invalidated_by = reason.strip()[:300], actor_name
        run.invalidated_at = timezone.now()
        run.save(update_fields=["invalid_reason", "invalidated_by", "invalidated_at"])
        _announce(
            run,
            "run.invalidated",
            f"Run #{run.pk} marked invalid: {reason}"[:300],
            actor_name,
            after={"run": run.pk, "reason": run.invalid_reason},
        )


def run_pin_baseline(run: Run, *, actor_name: str) -> None:
    """Make this run the baseline its test's relative criteria compare with."""
    if run.status != Run.Status.DONE or not run.valid or not run.complete:
        raise IngestError("only a complete, valid run can be the baseline")
    with transaction.atomic():
        Run.objects.filter(launch_id=run.launch_id, test=run.test, is_baseline=True).update(
            is_baseline=False
        )
        run.is_baseline = True
        run.save(update_fields=["is_baseline"])
        _announce(
            run,
            "run.baseline",
            f"Run #{run.pk} pinned as the {run.test} baseline",
            actor_name,
            after={"run": run.pk},
        )


def run_set_test(run: Run, test: str, *, actor_name: str, why: str = "") -> bool:
    """Say which load test a run is evidence for (or that it is none: ""); ``why``: how it was
    decided, for the audit trail ("inferred from its scenario 'peak'"). False if unchanged.
    A run moved to another test stops being the old test's baseline."""
    with transaction.atomic():
        run = Run.objects.select_for_update().get(pk=run.pk)
        if run.test == test:
            return False
        before = run.test
        run.test, run.is_baseline = test, False
        run.save(update_fields=["test", "is_baseline"])
        what = f"is evidence for {test}" if test else "is evidence for no test"
        _announce(
            run,
            "run.test_set",
            f"Run #{run.pk} {what}{f' ({why})' if why else ''}"[:300],
            actor_name,
            after={"run": run.pk, "test": test, "was": before, "why": why},
        )
    return True


def sniff_format(path) -> str:
    """The result format of a file by its content, or IngestError saying why it is none."""
    try:
        return detect_format(path)
    except ParseError as exc:
        raise IngestError(str(exc)) from None
