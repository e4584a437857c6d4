"""Reads of a launch that span relations: the plan as stored, its readiness, its export.

Every function runs a fixed number of queries whatever the size of the plan (pinned by tests).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from datetime import datetime

from django.db.models import Prefetch
from django.utils import timezone

from checklists.core.observations import observations_of
from checklists.engine import readiness as engine
from checklists.engine.plan import (
    CriterionSpec,
    GateSpec,
    LaunchSpec,
    LoadTestSpec,
    PlanSpec,
    RiskSpec,
    SignOffRoleSpec,
    SourceSpec,
    TaskSpec,
)
from checklists.engine.thresholds import parse_threshold
from checklists.engine.watch import RolloutIn, StageIn
from checklists.models import Criterion, Event, Launch, SignOff
from metrics import selectors as evidence

METRIC_WORDS = {
    "http_req_failed": "error rate",
    "http_req_duration": "response time",
    "http_reqs": "requests",
    "checks": "check success rate",
    "connection_timeouts": "connection timeouts",
    "recovery_time": "recovery time",
    "latency_drift": "latency drift",
}
_TIME_METRIC = re.compile(r"duration|latency|_ms$|response")


def launch_with_plan(**lookup) -> Launch:
    """The launch with every plan part prefetched (9 queries)."""
    return Launch.objects.prefetch_related(
        "tasks",
        "load_tests",
        "criteria",
        "risks",
        "gates",
        "signoff_roles",
        "waivers",
        Prefetch("signoffs", queryset=SignOff.objects.order_by("role", "-at", "-id")),
    ).get(**lookup)


def recent_events(launch: Launch, limit: int = 15) -> list[Event]:
    return list(launch.events.select_related(None).order_by("-version")[:limit])


# --- export ------------------------------------------------------------------------------------
def _spec(spec_cls, obj, **overrides):
    values = {}
    for f in fields(spec_cls):
        value = overrides.get(f.name, getattr(obj, f.name, None))
        values[f.name] = tuple(value) if isinstance(value, list) else value
    return spec_cls(**values)


def plan_export(launch: Launch) -> PlanSpec:
    """The launch as a plan, with current task status and ticks as the initial state."""
    return PlanSpec(
        launch=_spec(LaunchSpec, launch),
        tasks=tuple(_spec(TaskSpec, t) for t in launch.tasks.all()),
        load_tests=tuple(_spec(LoadTestSpec, t) for t in launch.load_tests.all()),
        sources=tuple(SourceSpec(**s) for s in evidence.source_specs(launch.pk)),
        criteria=tuple(_spec(CriterionSpec, c) for c in launch.criteria.all()),
        risks=tuple(_spec(RiskSpec, r) for r in launch.risks.all()),
        gates=tuple(_spec(GateSpec, g) for g in launch.gates.all()),
        signoffs=tuple(_spec(SignOffRoleSpec, s) for s in launch.signoff_roles.all()),
    )


# --- readiness ---------------------------------------------------------------------------------
def infer_unit(c: Criterion) -> str:
    if c.unit:
        return "" if c.unit == "count" else c.unit
    if not c.threshold:
        return ""
    threshold = parse_threshold(c.threshold)
    if threshold.aggregate == "rate" or ("%" in c.threshold and not threshold.relative):
        return "%"
    if threshold.aggregate in ("avg", "min", "max", "med") or threshold.percentile is not None:
        return "ms" if _TIME_METRIC.search(c.metric) else ""
    return ""


def measure_words(c: Criterion, test_titles: dict[str, str]) -> str:
    if c.measure:
        return c.measure
    words = METRIC_WORDS.get(c.metric, c.metric.replace("_", " "))
    if c.threshold and (p := parse_threshold(c.threshold).percentile) is not None:
        words = f"p{p:g} {words}"
    where = test_titles.get(c.test) or c.source
    return f"{where} {words}".strip()


def _criterion_in(c: Criterion, test_titles, source_titles) -> engine.CriterionIn:
    source_label = (
        f"{test_titles.get(c.test, c.test)} test" if c.test else source_titles.get(c.source, "")
    )
    return engine.CriterionIn(
        key=c.key,
        title=c.title,
        kind=c.kind,
        required=c.required,
        section=c.section,
        test=c.test,
        source=c.source,
        measure=measure_words(c, test_titles),
        threshold=parse_threshold(c.threshold) if c.threshold else None,
        warn=parse_threshold(c.warn) if c.warn else None,
        unit=infer_unit(c),
        after=c.after,
        max_age_s=c.max_age_seconds,
        all_of=tuple(c.all_of),
        source_label=source_label,
        checked=c.checked,
        checked_by=c.checked_by_name,
        checked_at=c.checked_at,
    )


def current_signoffs(rows) -> dict[str, tuple[SignOff, str]]:
    """Per role, its current decision and, when that approval has lapsed, why. ``rows`` are a
    launch's sign-offs ordered newest first per role; a lapse row names the approval it ended."""
    current: dict[str, tuple[SignOff, str]] = {}
    lapses: dict[str, SignOff] = {}
    for s in rows:
        if s.role in current:
            continue
        if s.decision == SignOff.Decision.LAPSED:
            lapses.setdefault(s.role, s)
            continue
        lapse = lapses.get(s.role)
        current[s.role] = (s, lapse.comment if lapse else "")
    return current


def _signoffs_in(launch: Launch) -> tuple[engine.SignOffIn, ...]:
    newest = current_signoffs(launch.signoffs.all())  # prefetched, ordered newest first
    result = []
    for role in launch.signoff_roles.all():
        s, lapsed = newest.get(role.key, (None, ""))
        result.append(
            engine.SignOffIn(
                role=role.key,
                title=role.title,
                required=role.required,
                decision=s.decision if s else None,
                by=s.by_name if s else "",
                at=s.at if s else None,
                comment=s.comment if s else "",
                approved_states=(s.snapshot.get("criteria", {}) if s else {}),
                approved_plan=(s.snapshot.get("plan", "") if s else ""),
                lapsed=lapsed,
            )
        )
    return tuple(result)


def rollout_in(launch: Launch) -> RolloutIn | None:
    """The plan's rollout with where the launch is in it (None: the plan has no rollout)."""
    plan = launch.rollout
    if not plan:
        return None
    return RolloutIn(
        watch_minutes=plan["watch_minutes"],
        stages=tuple(
            StageIn(
                key=s["key"],
                title=s["title"],
                traffic=s["traffic"],
                hold_s=s.get("hold_seconds", 0),
                requires=tuple(s.get("requires", ())),
            )
            for s in plan.get("stages", ())
        ),
        triggers=tuple(plan.get("triggers", ())),
        phase=launch.phase,
        live_at=launch.live_at,
        # a plan re-imported while live may have fewer stages: the last one is where it is
        stage=min(launch.stage, max(len(plan.get("stages", ())) - 1, 0)),
        stage_at=launch.stage_at,
        tripped_at=launch.tripped_at,
        tripped_reason=launch.tripped_reason,
        ended_at=launch.ended_at,
    )


def plan_in(launch: Launch) -> engine.PlanIn:
    test_titles = {t.key: t.title for t in launch.load_tests.all()}
    source_titles = {s["key"]: s["title"] for s in evidence.source_specs(launch.pk)}
    return engine.PlanIn(
        slug=launch.slug,
        name=launch.name,
        version=launch.version,
        tasks=tuple(
            engine.TaskIn(
                key=t.key,
                title=t.title,
                priority=t.priority,
                minutes=t.estimate_minutes,
                status=t.status,
                depends_on=tuple(t.depends_on),
                done_at=t.done_at,
                blocked_reason=t.blocked_reason,
                started_at=t.started_at,
            )
            for t in launch.tasks.all()
        ),
        criteria=tuple(_criterion_in(c, test_titles, source_titles) for c in launch.criteria.all()),
        risks=tuple(
            engine.RiskIn(
                key=r.key,
                title=r.title,
                before_level=r.before_level,
                before_value=r.before_value,
                after_level=r.after_level,
                after_value=r.after_value,
                mitigation=r.mitigation,
                measured_by=tuple(r.measured_by),
            )
            for r in launch.risks.all()
        ),
        gates=tuple(
            engine.GateIn(
                key=g.key,
                title=g.title,
                requires_tasks=tuple(g.requires_tasks),
                requires_criteria=tuple(g.requires_criteria),
                pass_label=g.pass_label,
                fail_label=g.fail_label,
            )
            for g in launch.gates.all()
        ),
        signoffs=_signoffs_in(launch),
        rollout=rollout_in(launch),
        window_start=launch.window_start,
        window_end=launch.window_end,
        timezone=launch.timezone,
        waivers=tuple(
            engine.WaiverIn(
                criterion=w.criterion,
                by=f"{w.by_name} ({w.role})",
                reason=f"{w.reason} Compensating control: {w.compensating_control}",
                until=w.expires_at,
                value_at_waiver=w.value_at_waiver,
                not_applicable=w.not_applicable,
            )
            for w in sorted(launch.waivers.all(), key=lambda w: w.created_at)
            if w.revoked_at is None
        ),
        plan_hash=launch.plan_hash,
    )


@dataclass(frozen=True)
class Board:
    """Everything the status page and the readiness API show for one launch."""

    launch: Launch
    readiness: engine.Readiness
    now: datetime


def board_of(launch: Launch, now: datetime | None = None) -> Board:
    now = now or timezone.now()
    return Board(launch, engine.evaluate(plan_in(launch), observations_of(launch), now), now)


def board_for_slug(slug: str, now: datetime | None = None) -> Board:
    return board_of(launch_with_plan(slug=slug), now)
