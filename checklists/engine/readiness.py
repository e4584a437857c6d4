"""The readiness engine: ``evaluate(plan, observations, now) -> Readiness``.

Pure: no Django, no I/O, no clock (``now`` is an argument), so it is tested by truth tables and
properties. Rules, in the words the page uses:

- No evidence is never a pass: a metric criterion without a usable value is ``pending``.
- Evidence taken before the task it must follow (``after``), or older than its age limit, is
  ``stale``; stale never counts as a pass and blocks GO.
- A failing required criterion is ``fail`` and makes the verdict NO_GO; a failing optional one
  is ``warn``. A value inside the warning band is ``warn`` too. An active waiver turns a failure
  into ``waived`` (never ``pass``) until it expires or the value gets worse than when waived.
- GO needs every required criterion passing (pass, warn inside the band, or waived), every
  required task done, every gate passed and every required sign-off approved and not stale.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from checklists.engine.thresholds import Threshold
from checklists.engine.watch import RolloutIn, Watch, evaluate_watch

GO, NO_GO, PENDING = "GO", "NO_GO", "PENDING"
PASS, WARN, FAIL, STALE, WAIVED = "pass", "warn", "fail", "stale", "waived"
PENDING_STATUS = "pending"
# Worst first: the status a group of criteria takes is the worst of its members.
SEVERITY = {FAIL: 5, STALE: 4, PENDING_STATUS: 3, WARN: 2, WAIVED: 1, PASS: 0}
OK_STATUSES = frozenset({PASS, WARN, WAIVED})
LEVELS = {"high": 3, "medium": 2, "low": 1}


# --- inputs ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TaskIn:
    key: str
    title: str
    priority: str
    minutes: int
    status: str = "pending"
    depends_on: tuple[str, ...] = ()
    done_at: datetime | None = None
    blocked_reason: str = ""
    started_at: datetime | None = None

    @property
    def optional(self) -> bool:
        return self.priority == "optional"


@dataclass(frozen=True)
class CriterionIn:
    key: str
    title: str
    kind: str = "manual"
    required: bool = True
    section: str = "checklist"
    test: str = ""
    source: str = ""
    measure: str = ""
    threshold: Threshold | None = None
    warn: Threshold | None = None
    unit: str = ""
    after: str = ""
    max_age_s: int | None = None
    all_of: tuple[str, ...] = ()
    source_label: str = ""
    checked: bool = False
    checked_by: str = ""
    checked_at: datetime | None = None


@dataclass(frozen=True)
class Observation:
    """The evidence for one metric criterion, already reduced to the threshold's aggregate."""

    value: float | None = None
    at: datetime | None = None
    complete: bool = True
    baseline: float | None = None
    label: str = ""
    display: str = ""
    why: str = ""
    stale_after_s: int | None = None
    stale_reason: str = ""
    no_baseline: str = ""  # why a relative threshold has nothing to compare with, in words
    # Sustained criteria (fail only after N breaching polls in a row, recover after M good):
    # (polls so far, polls needed) while breaching but not failing yet, or while recovering.
    breaching: tuple[int, int] | None = None
    recovering: tuple[int, int] | None = None


@dataclass(frozen=True)
class WaiverIn:
    criterion: str
    by: str
    reason: str
    until: datetime | None = None
    value_at_waiver: float | None = None
    not_applicable: bool = False  # counts only while the criterion has no evidence


@dataclass(frozen=True)
class RiskIn:
    key: str
    title: str
    before_level: str
    before_value: str = ""
    after_level: str = "low"
    after_value: str = ""
    mitigation: str = ""
    measured_by: tuple[str, ...] = ()


@dataclass(frozen=True)
class GateIn:
    key: str
    title: str
    requires_tasks: tuple[str, ...] = ()
    requires_criteria: tuple[str, ...] = ()
    pass_label: str = "Continue"  # noqa: S105 - a label, not a password
    fail_label: str = "NO GO"


@dataclass(frozen=True)
class SignOffIn:
    role: str
    title: str
    required: bool = True
    decision: str | None = None
    by: str = ""
    at: datetime | None = None
    comment: str = ""
    approved_states: Mapping[str, str] = field(default_factory=dict)
    approved_plan: str = ""
    lapsed: str = ""  # why an approval went stale: it stays stale until its role signs again


@dataclass(frozen=True)
class PlanIn:
    slug: str
    name: str
    version: int = 0
    tasks: Sequence[TaskIn] = ()
    criteria: Sequence[CriterionIn] = ()
    risks: Sequence[RiskIn] = ()
    gates: Sequence[GateIn] = ()
    signoffs: Sequence[SignOffIn] = ()
    waivers: Sequence[WaiverIn] = ()
    plan_hash: str = ""
    rollout: RolloutIn | None = None
    window_start: datetime | None = None
    window_end: datetime | None = None
    timezone: str = ""


# --- outputs -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class CriterionResult:
    spec: CriterionIn
    status: str
    why: str
    observed: float | None = None
    observed_text: str = ""
    threshold_text: str = ""
    at: datetime | None = None
    waiver: WaiverIn | None = None
    failing: bool = False  # its threshold fails now (not a warning band, not breaching yet)

    @property
    def key(self):
        return self.spec.key

    @property
    def ok(self) -> bool:
        return self.status in OK_STATUSES


@dataclass(frozen=True)
class GateResult:
    spec: GateIn
    status: str
    why: str
    on_path: bool


@dataclass(frozen=True)
class RiskResult:
    spec: RiskIn
    current_level: str
    current_value: str
    measured: bool
    why: str


@dataclass(frozen=True)
class SignOffResult:
    spec: SignOffIn
    status: str
    why: str


@dataclass(frozen=True)
class Progress:
    total_minutes: int
    done_minutes: int
    remaining_minutes: int
    percent: float


@dataclass(frozen=True)
class Readiness:
    plan: PlanIn
    verdict: str
    blockers: tuple[str, ...]
    criteria: tuple[CriterionResult, ...]
    gates: tuple[GateResult, ...]
    outcome: str
    risks: tuple[RiskResult, ...]
    overall_before: str
    overall_current: str
    signoffs: tuple[SignOffResult, ...]
    progress: Progress
    watch: Watch | None = None

    @property
    def headline(self) -> str:
        """What the banner says first: the failed gate's label when NO GO, else the outcome."""
        if self.verdict == NO_GO:
            failed = next((g for g in self.gates if g.status == FAIL), None)
            return failed.spec.fail_label if failed else "NO GO"
        return self.outcome

    @property
    def overall_target(self) -> str:
        """The overall risk once every mitigation holds (the worst of the risks' targets)."""
        return overall_level([r.spec.after_level for r in self.risks])

    def criterion(self, key: str) -> CriterionResult:
        return next(c for c in self.criteria if c.key == key)


# --- formatting --------------------------------------------------------------------------------
def format_value(value: float | None, unit: str = "") -> str:
    """A number as a stakeholder reads it: 0.021 with unit % is "2.1%", 485.2 ms is "485 ms"."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if unit == "%":
        return f"{_trim(value * 100)}%"
    if unit in ("ms", "s"):
        text = f"{value:,.0f}" if abs(value) >= 100 else _trim(value)
        return f"{text} {unit}"
    if float(value).is_integer():
        return f"{int(value):,}"
    return _trim(value)


def _trim(value: float) -> str:
    """Up to three significant digits after the point, without trailing zeros."""
    if value == 0:
        return "0"
    digits = max(0, 2 - math.floor(math.log10(abs(value))))
    return f"{value:.{min(digits, 6)}f}".rstrip("0").rstrip(".") if digits else f"{value:.0f}"


def threshold_text(threshold: Threshold | None, unit: str, baseline: float | None = None) -> str:
    if threshold is None:
        return ""
    if threshold.relative:
        base = f" of baseline {format_value(baseline, unit)}" if baseline is not None else ""
        return f"{threshold.phrase} {threshold.value:+g}%{base}"
    return f"{threshold.phrase} {format_value(threshold.value, unit)}"


def _sentence(text: str) -> str:
    text = text.strip()
    return text if not text or text.endswith((".", "!", "?")) else text + "."


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:] if text[:2] != text[:2].upper() else text


# --- criteria ----------------------------------------------------------------------------------
def _judge_manual(c: CriterionIn) -> CriterionResult:
    if c.checked:
        by = f" by {c.checked_by}" if c.checked_by else ""
        return CriterionResult(c, PASS, f"Ticked{by}.", at=c.checked_at)
    return CriterionResult(c, PENDING_STATUS, "Not ticked yet.")


def _staleness(
    c: CriterionIn, obs: Observation, tasks: Mapping[str, TaskIn], now: datetime
) -> str | None:
    if obs.stale_reason:
        return obs.stale_reason
    what = obs.label or "The evidence"
    task = tasks.get(c.after) if c.after else None
    if task is not None and task.status != "done":
        return f"{what} cannot show the effect of {task.title}: that task is not done yet."
    if task is not None and task.done_at and obs.at and obs.at < task.done_at:
        return f"{what} was taken before {task.title} was done, so it proves nothing about it."
    limit = c.max_age_s or obs.stale_after_s
    if limit and obs.at and (now - obs.at).total_seconds() > limit:
        age = _duration_words((now - obs.at).total_seconds())
        return f"{what} is {age} old; data older than {_duration_words(limit)} is stale."
    return None


def _duration_words(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


def _judge_metric(
    c: CriterionIn, obs: Observation | None, tasks: Mapping[str, TaskIn], now: datetime
) -> CriterionResult:
    measure = c.measure or c.title
    thr = threshold_text(c.threshold, c.unit, obs.baseline if obs else None)
    if obs is None or obs.value is None:
        why = obs.why if obs and obs.why else f"No evidence yet for {_lower_first(measure)}."
        return CriterionResult(c, PENDING_STATUS, _sentence(why), threshold_text=thr)
    shown = obs.display or format_value(obs.value, c.unit)
    common = {"observed": obs.value, "observed_text": shown, "threshold_text": thr, "at": obs.at}
    if not obs.complete:
        why = f"{obs.label or 'The newest run'} was interrupted; an incomplete run cannot pass."
        return CriterionResult(c, PENDING_STATUS, why, **common)
    stale = _staleness(c, obs, tasks, now)
    if stale:
        return CriterionResult(c, STALE, stale, **common)
    holds = c.threshold.holds(obs.value, obs.baseline) if c.threshold else None
    if holds is None:
        why = (
            _sentence(obs.no_baseline)
            if obs.no_baseline
            else (f"There is no baseline run to compare {_lower_first(measure)} {shown} with.")
        )
        return CriterionResult(c, PENDING_STATUS, why, **common)
    if not holds and obs.breaching:
        n, needed = obs.breaching
        why = (
            f"{_verdict_words(measure, shown, thr, c, False)} Breaching for {n} of {needed} polls."
        )
        return CriterionResult(c, WARN, why, **common)
    if not holds:
        status = FAIL if c.required else WARN
        why = _verdict_words(measure, shown, thr, c, False)
        return CriterionResult(c, status, why, failing=True, **common)
    if obs.recovering:
        n, needed = obs.recovering
        status = FAIL if c.required else WARN
        why = (
            f"{_verdict_words(measure, shown, thr, c, True)} Recovering: {n} of {needed} good "
            "polls in a row needed."
        )
        return CriterionResult(c, status, why, failing=True, **common)
    if c.warn is not None and c.warn.holds(obs.value, obs.baseline) is False:
        band = threshold_text(c.warn, c.unit, obs.baseline)
        why = f"{measure} {shown} is {thr} but not {band}: inside the warning band."
        return CriterionResult(c, WARN, why, **common)
    return CriterionResult(c, PASS, _verdict_words(measure, shown, thr, c, True), **common)


def _verdict_words(measure: str, shown: str, thr: str, c: CriterionIn, holds: bool) -> str:
    """ "Peak load error rate 2.1% is not below 1%." — or, for an exact bound such as
    count==0, "Peak test connection timeouts: 6, not 0."."""
    if (
        c.threshold is not None
        and c.threshold.op in ("==", "===", "!=")
        and not c.threshold.relative
    ):
        bound = format_value(c.threshold.value, c.unit)
        if c.threshold.op == "!=":
            return f"{measure}: {shown}, {'not' if holds else 'but must not be'} {bound}."
        return f"{measure}: {shown}, as required." if holds else f"{measure}: {shown}, not {bound}."
    return f"{measure} {shown} is {thr}." if holds else f"{measure} {shown} is not {thr}."


def _worse(value: float, than: float, threshold: Threshold | None) -> bool:
    """Whether ``value`` is further on the failing side than ``than``."""
    if threshold is None:
        return False
    if threshold.op in ("<", "<="):
        return value > than
    if threshold.op in (">", ">="):
        return value < than
    return abs(value - threshold.value) > abs(than - threshold.value)


def _apply_waiver(
    result: CriterionResult, waiver: WaiverIn | None, now: datetime
) -> CriterionResult:
    if waiver is None or result.status not in (FAIL, WARN, PENDING_STATUS):
        return result
    if waiver.not_applicable:
        # Marked "not applicable here" (its source is not set up): it stands in for missing
        # evidence only; evidence, once there, judges the criterion again.
        if result.status != PENDING_STATUS or result.observed is not None:
            return result
        if waiver.until is not None and now >= waiver.until:
            return result
        why = f"Not applicable here, says {waiver.by}: {_sentence(waiver.reason)}"
        return CriterionResult(
            **{**_fields(result), "status": WAIVED, "why": why, "waiver": waiver}
        )
    if result.spec.kind == "metric" and result.status == PENDING_STATUS:
        return result  # a waiver accepts a known failure, never missing evidence
    if waiver.until is not None and now >= waiver.until:
        return result
    if (
        result.observed is not None
        and waiver.value_at_waiver is not None
        and _worse(result.observed, waiver.value_at_waiver, result.spec.threshold)
    ):
        why = f"{result.why} The waiver lapsed: the value is worse than when it was waived."
        return CriterionResult(**{**_fields(result), "why": why})
    why = f"Waived by {waiver.by}: {_sentence(waiver.reason)} ({result.why})"
    return CriterionResult(**{**_fields(result), "status": WAIVED, "why": why, "waiver": waiver})


def _fields(result: CriterionResult) -> dict:
    return {name: getattr(result, name) for name in result.__dataclass_fields__}


def _judge_group(c: CriterionIn, members: list[CriterionResult]) -> CriterionResult:
    if not members:
        return CriterionResult(c, PENDING_STATUS, "It groups no criteria.")
    worst = max(members, key=lambda m: SEVERITY[m.status]).status
    if worst == FAIL and not c.required:
        worst = WARN
    not_ok = [m for m in members if not m.ok]
    ok = len(members) - len(not_ok)
    if not not_ok:
        return CriterionResult(c, worst, f"All {len(members)} pass.")
    # Each member's reason is a sentence of its own: "Peak test: no run yet. Baseline: ..."
    detail = " ".join(_sentence(f"{m.spec.title}: {_lower_first(m.why)}") for m in not_ok[:3])
    more = f" (and {len(not_ok) - 3} more)" if len(not_ok) > 3 else ""
    return CriterionResult(c, worst, f"{ok} of {len(members)} pass. {detail}{more}")


def evaluate_criteria(
    plan: PlanIn, observations: Mapping[str, Observation], now: datetime
) -> dict[str, CriterionResult]:
    tasks = {t.key: t for t in plan.tasks}
    waivers = {w.criterion: w for w in plan.waivers}
    specs = {c.key: c for c in plan.criteria}
    results: dict[str, CriterionResult] = {}

    def judge(key: str, seen: frozenset = frozenset()) -> CriterionResult:
        if key in results:
            return results[key]
        c = specs[key]
        if c.all_of:
            members = [judge(k, seen | {key}) for k in c.all_of if k in specs and k not in seen]
            result = _judge_group(c, members)
        elif c.kind == "manual":
            result = _judge_manual(c)
        else:
            result = _judge_metric(c, observations.get(key), tasks, now)
        results[key] = _apply_waiver(result, waivers.get(key), now)
        return results[key]

    for c in plan.criteria:
        judge(c.key)
    return results


# --- gates, sign-offs, risks, progress ---------------------------------------------------------
def _gate_status(gate: GateIn, criteria: Mapping[str, CriterionResult], tasks) -> tuple[str, str]:
    members = [criteria[k] for k in gate.requires_criteria if k in criteria]
    failing = [m for m in members if m.status == FAIL]
    if failing:
        return FAIL, failing[0].why
    waiting = [
        tasks[k].title for k in gate.requires_tasks if k in tasks and tasks[k].status != "done"
    ]
    waiting += [m.spec.title for m in members if not m.ok]
    if waiting:
        more = f" and {len(waiting) - 4} more" if len(waiting) > 4 else ""
        return PENDING_STATUS, f"Waiting for {', '.join(waiting[:4])}{more}."
    # The pass label is where the tree goes next, often a question ("Test results?").
    return PASS, _sentence(f"Passed; next: {gate.pass_label}")


def evaluate_gates(
    plan: PlanIn, criteria: Mapping[str, CriterionResult]
) -> tuple[tuple[GateResult, ...], str]:
    """Each gate's state; the path taken runs through passed gates up to the first that is not."""
    tasks = {t.key: t for t in plan.tasks}
    results, on_path, outcome = [], True, ""
    for gate in plan.gates:
        status, why = _gate_status(gate, criteria, tasks)
        results.append(GateResult(gate, status, why, on_path))
        if on_path and status != PASS:
            outcome = gate.fail_label if status == FAIL else f"Waiting at: {gate.title}"
            on_path = False
    if on_path and plan.gates:
        outcome = plan.gates[-1].pass_label
    return tuple(results), outcome


def evaluate_signoffs(
    plan: PlanIn, criteria: Mapping[str, CriterionResult]
) -> tuple[SignOffResult, ...]:
    results = []
    for s in plan.signoffs:
        if s.decision is None:
            results.append(SignOffResult(s, "pending", f"{s.title} has not signed off yet."))
        elif s.decision == "rejected":
            comment = f": {s.comment}" if s.comment else ""
            results.append(SignOffResult(s, "rejected", f"{s.title} rejected{comment}"))
        else:
            results.append(_approved_or_stale(s, criteria, plan.plan_hash))
    return tuple(results)


def _approved_or_stale(
    s: SignOffIn, criteria: Mapping[str, CriterionResult], plan_hash: str
) -> SignOffResult:
    if s.lapsed:
        return SignOffResult(s, "stale", s.lapsed)
    if s.approved_plan and plan_hash and s.approved_plan != plan_hash:
        why = f"{s.title} approval is stale: the plan changed after it was given. Renew it."
        return SignOffResult(s, "stale", why)
    for key, then in s.approved_states.items():
        now_result = criteria.get(key)
        if then in OK_STATUSES and (now_result is None or not now_result.ok):
            title = now_result.spec.title if now_result else key
            now_status = now_result.status if now_result else "removed"
            why = (
                f"{s.title} approval is stale: given when {title} was {then}; it is now "
                f"{now_status}. Renew the sign-off."
            )
            return SignOffResult(s, "stale", why)
    return SignOffResult(s, "approved", f"Approved by {s.by}.")


def evaluate_risks(plan: PlanIn, criteria: Mapping[str, CriterionResult]) -> tuple[RiskResult, ...]:
    results = []
    for r in plan.risks:
        members = [criteria[k] for k in r.measured_by if k in criteria]
        shown = next((m.observed_text for m in members if m.observed_text), "")
        if not members:
            why = "No criterion measures it; it stays at its level before the fix."
            results.append(RiskResult(r, r.before_level, r.before_value, False, why))
        elif any(m.status == FAIL for m in members):
            failing = next(m for m in members if m.status == FAIL)
            results.append(RiskResult(r, r.before_level, shown, True, failing.why))
        elif all(m.ok for m in members):
            why = f"Mitigated: {'; '.join(_lower_first(m.why) for m in members)}"
            results.append(RiskResult(r, r.after_level, shown or r.after_value, True, why))
        else:
            waiting = next(m for m in members if not m.ok)
            why = f"Not yet shown to be mitigated: {_lower_first(waiting.why)}"
            results.append(RiskResult(r, r.before_level, shown, False, why))
    return tuple(results)


def overall_level(levels: Sequence[str]) -> str:
    return max(levels, key=lambda lvl: LEVELS.get(lvl, 0)) if levels else "low"


def progress_of(tasks: Sequence[TaskIn]) -> Progress:
    """Minutes over required (non-optional) tasks."""
    required = [t for t in tasks if not t.optional]
    total = sum(t.minutes for t in required)
    done = sum(t.minutes for t in required if t.status == "done")
    percent = round(100 * done / total, 1) if total else 100.0
    return Progress(total, done, total - done, percent)


# --- verdict -----------------------------------------------------------------------------------
def _blockers(
    plan: PlanIn,
    criteria: Mapping[str, CriterionResult],
    gates: Sequence[GateResult],
    signoffs: Sequence[SignOffResult],
) -> tuple[list[str], list[str]]:
    """(failures that make it NO_GO, everything else that keeps it from GO), in plain words."""
    required = [criteria[c.key] for c in plan.criteria if c.required]
    failures = [r.why for r in required if r.status == FAIL and not r.spec.all_of]
    failures += [f"{g.spec.title}: {g.spec.fail_label}." for g in gates if g.status == FAIL]
    failures += [s.why for s in signoffs if s.status == "rejected"]
    waiting = [
        f"{r.spec.title}: {_lower_first(r.why)}"
        for r in sorted(required, key=lambda r: -SEVERITY[r.status])
        if r.status in (STALE, PENDING_STATUS) and not r.spec.all_of
    ]
    waiting += _task_blockers(plan.tasks)
    waiting += [s.why for s in signoffs if s.spec.required and s.status in ("pending", "stale")]
    if not failures and not waiting:
        # Gates can require what is otherwise optional; GO still waits for every gate.
        waiting += [f"{g.spec.title}: {_lower_first(g.why)}" for g in gates if g.status != PASS]
    return failures, waiting


def _task_blockers(tasks: Sequence[TaskIn]) -> list[str]:
    required = [t for t in tasks if not t.optional]
    blocked = [t for t in required if t.status == "blocked"]
    lines = [
        f"Task {t.title} is blocked: {t.blocked_reason or 'no reason given'}." for t in blocked
    ]
    open_tasks = [t.title for t in required if t.status in ("pending", "in_progress")]
    if open_tasks:
        noun = "task is" if len(open_tasks) == 1 else "tasks are"
        lines.append(f"{len(open_tasks)} required {noun} not done: {', '.join(open_tasks)}.")
    return lines


def evaluate(plan: PlanIn, observations: Mapping[str, Observation], now: datetime) -> Readiness:
    criteria = evaluate_criteria(plan, observations, now)
    gates, outcome = evaluate_gates(plan, criteria)
    signoffs = evaluate_signoffs(plan, criteria)
    risks = evaluate_risks(plan, criteria)
    failures, waiting = _blockers(plan, criteria, gates, signoffs)
    verdict = NO_GO if failures else (PENDING if waiting else GO)
    return Readiness(
        plan=plan,
        verdict=verdict,
        blockers=tuple(failures + waiting),
        criteria=tuple(criteria[c.key] for c in plan.criteria),
        gates=gates,
        outcome=outcome,
        risks=risks,
        overall_before=overall_level([r.before_level for r in plan.risks]),
        overall_current=overall_level([r.current_level for r in risks]),
        signoffs=signoffs,
        progress=progress_of(plan.tasks),
        watch=evaluate_watch(plan.rollout, criteria, verdict, now) if plan.rollout else None,
    )
