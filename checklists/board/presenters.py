"""Readiness as JSON (the API contract) and as the few derived figures the page draws."""

from __future__ import annotations

import math
from dataclasses import asdict, replace
from datetime import datetime, timedelta

from checklists.core.selectors import Board
from checklists.engine import readiness as engine


def _iso(value):
    return value.isoformat() if value else None


def criterion_json(c: engine.CriterionResult) -> dict:
    spec = c.spec
    return {
        "key": spec.key,
        "title": spec.title,
        "kind": spec.kind,
        "required": spec.required,
        "section": spec.section,
        "status": c.status,
        "observed": c.observed,
        "observed_text": c.observed_text,
        "threshold": spec.threshold.text if spec.threshold else None,
        "threshold_text": c.threshold_text,
        "source": spec.source_label or None,
        "why": c.why,
        "at": _iso(c.at),
        "waiver": (
            {
                "by": c.waiver.by,
                "reason": c.waiver.reason,
                "until": _iso(c.waiver.until),
                "not_applicable": c.waiver.not_applicable,
            }
            if c.waiver
            else None
        ),
    }


def summary_json(board: Board) -> dict:
    """One launch on the home page and in ``GET /api/launches/``: where it stands, in a line."""
    r, launch = board.readiness, board.launch
    required = [c for c in r.criteria if c.spec.required]
    return {
        "slug": launch.slug,
        "name": launch.name,
        "version": launch.version,
        "url": f"/api/launches/{launch.slug}/",
        "verdict": r.verdict,
        "headline": r.headline,
        "blockers": list(r.blockers[:3]),
        "blocker_count": len(r.blockers),
        "progress_percent": r.progress.percent,
        "remaining_minutes": r.progress.remaining_minutes,
        "criteria_ok": sum(1 for c in required if c.ok),
        "criteria_required": len(required),
        "target_at": _iso(launch.target_at),
    }


def readiness_json(board: Board) -> dict:
    r, launch = board.readiness, board.launch
    return {
        "slug": launch.slug,
        "name": launch.name,
        "verdict": r.verdict,
        "blockers": list(r.blockers),
        "version": launch.version,
        "evaluated_at": board.now.isoformat(),
        "progress": asdict(r.progress)
        | {"critical_path_minutes": critical_path_minutes(r.plan.tasks)},
        "tasks": [
            {
                "key": t.key,
                "title": t.title,
                "priority": t.priority,
                "minutes": t.minutes,
                "status": t.status,
                "optional": t.optional,
                "depends_on": list(t.depends_on),
                "done_at": _iso(t.done_at),
                "blocked_reason": t.blocked_reason or None,
            }
            for t in r.plan.tasks
        ],
        "criteria": [criterion_json(c) for c in r.criteria],
        "risks": [
            {
                "key": x.spec.key,
                "title": x.spec.title,
                "before": {"level": x.spec.before_level, "value": x.spec.before_value},
                "after": {"level": x.spec.after_level, "value": x.spec.after_value},
                "current": {
                    "level": x.current_level,
                    "value": x.current_value or None,
                    "measured": x.measured,
                    "why": x.why,
                },
                "mitigation": x.spec.mitigation,
            }
            for x in r.risks
        ],
        "overall_risk": {
            "before": r.overall_before,
            "target": r.overall_target,
            "current": r.overall_current,
        },
        "headline": r.headline,
        "decision": {
            "outcome": r.outcome,
            "path": [
                {
                    "key": g.spec.key,
                    "title": g.spec.title,
                    "status": g.status,
                    "on_path": g.on_path,
                    "why": g.why,
                    "on_pass": g.spec.pass_label,
                    "on_fail": g.spec.fail_label,
                }
                for g in r.gates
            ],
        },
        "signoffs": [
            {
                "role": s.spec.role,
                "title": s.spec.title,
                "required": s.spec.required,
                "status": s.status,
                "by": s.spec.by or None,
                "at": _iso(s.spec.at),
                "why": s.why,
            }
            for s in r.signoffs
        ],
        "window": (
            {
                "start": _iso(r.plan.window_start),
                "end": _iso(r.plan.window_end),
                "timezone": r.plan.timezone or "UTC",
            }
            if r.plan.window_start
            else None
        ),
        "forecast": forecast(r.plan, board.now),
        "watch": watch_json(r.watch),
    }


def watch_json(watch) -> dict | None:
    """The watch after GO: phase, stages, triggers (None: the plan has no rollout)."""
    if watch is None:
        return None
    return {
        "phase": watch.phase,
        "headline": watch.headline,
        "reason": watch.reason or None,
        "live_at": _iso(watch.live_at),
        "ends_at": _iso(watch.ends_at),
        "watch_minutes": watch.watch_minutes,
        "can_go_live": watch.can_go_live,
        "can_advance": watch.can_advance,
        "stages": [
            {
                "key": s.spec.key,
                "title": s.spec.title,
                "traffic": s.spec.traffic,
                "hold_minutes": s.spec.hold_s // 60,
                "requires": list(s.spec.requires),
                "status": s.status,
                "hold_until": _iso(s.hold_until),
                "blockers": list(s.blockers),
            }
            for s in watch.stages
        ],
        "triggers": [
            {"key": t.key, "title": t.title, "status": t.status, "why": t.why}
            for t in watch.triggers
        ],
    }


def pace_of(tasks) -> tuple[float, int]:
    """(actual minutes per estimated minute over the tasks timed from start to done, for at
    least a minute; how many were timed); 1.0 when none was: the estimates are all there is."""
    timed = [
        t
        for t in tasks
        if t.status == "done"
        and t.started_at
        and t.done_at
        # under a minute in progress is two clicks, not a measure of the work
        and (t.done_at - t.started_at).total_seconds() >= 60
    ]
    estimated = sum(t.minutes for t in timed)
    if not estimated:
        return 1.0, 0
    actual = sum((t.done_at - t.started_at).total_seconds() / 60 for t in timed)
    return actual / estimated, len(timed)


def forecast(plan, now: datetime) -> dict:
    """When the remaining critical path ends at the pace of the work done so far, and how that
    stands against the launch window (or the target when there is no window)."""
    pace, timed = pace_of(plan.tasks)
    remaining = critical_path_minutes(plan.tasks)
    expected = math.ceil(remaining * pace)
    finish = now + timedelta(minutes=expected)
    opens, closes = plan.window_start, plan.window_end
    if opens and closes:
        fits = "before" if finish <= opens else "inside" if finish <= closes else "after"
    else:
        fits = None
    return {
        "pace": round(pace, 2),
        "timed_tasks": timed,
        "critical_path_minutes": remaining,
        "expected_minutes": expected,
        "finish_at": _iso(finish),
        "window": fits,  # before the window opens, inside it, or after it closes
        "meets_window": None if fits is None else fits != "after",
    }


def _after_prerequisites(tasks, start, length, fixed=lambda task: None) -> list:
    """(task, start, end) with each task starting at ``start`` or when the last of its
    prerequisites ends, whichever is later, and taking ``length(task)``; a task for which
    ``fixed(task)`` is not None ends then instead. A cycle is cut where it closes."""
    by_key = {t.key: t for t in tasks}
    ends: dict = {}

    def end_of(key, trail=()):
        if key not in ends:
            task = by_key[key]
            ends[key] = fixed(task)
            if ends[key] is None:
                deps = [d for d in task.depends_on if d in by_key and d not in trail]
                ends[key] = max([start, *(end_of(d, (*trail, key)) for d in deps)]) + length(task)
        return ends[key]

    return [(t, end_of(t.key) - length(t), end_of(t.key)) for t in tasks]


def schedule(tasks) -> list[tuple[object, int, int]]:
    """(task, start, end) in minutes from the start, each task after its dependencies."""
    return _after_prerequisites(tasks, 0, lambda t: t.minutes)


def wall_schedule(tasks, now: datetime) -> list[tuple[object, datetime, datetime]]:
    """(task, start, end) on the clock. A done task ends when it was done (a task the plan
    says is done, with no time, ends before the first one that has one); a task not done starts
    now or when the last of its prerequisites ends, whichever is later, and takes its estimate."""
    earliest = min([*(t.done_at for t in tasks if t.status == "done" and t.done_at), now])
    return _after_prerequisites(
        tasks,
        now,
        lambda t: timedelta(minutes=t.minutes),
        lambda t: (t.done_at or earliest) if t.status == "done" else None,
    )


def critical_path_minutes(tasks) -> int:
    """Minutes until every required task can be done, if independent tasks run in parallel."""
    remaining = [
        replace(t, minutes=0 if t.status == "done" else t.minutes) for t in tasks if not t.optional
    ]
    return max((end for _, _, end in schedule(remaining)), default=0)
