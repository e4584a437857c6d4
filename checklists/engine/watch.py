"""The watch after GO, judged like the readiness: pure, from the rollout's recorded state and the
criteria just evaluated.

A launch goes live at its first ramp-up stage. Each stage holds for its minimum time and needs
its criteria to hold before the next one; the watch lasts ``watch_minutes`` from go-live. The
rollback triggers are live criteria that keep being judged: one whose threshold fails turns the
launch to ``rollback`` and it stays there (``tripped_at`` is recorded) until people say it was
rolled back or resume it. A trigger with no fresh data is ``blind``: shown, never ignored, but
not a reason to roll back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

PREPARING, LIVE, ROLLBACK, ROLLED_BACK, COMPLETE = (
    "preparing",
    "live",
    "rollback",
    "rolled_back",
    "complete",
)
BLIND_STATUSES = frozenset({"stale", "pending"})


@dataclass(frozen=True)
class StageIn:
    key: str
    title: str
    traffic: float
    hold_s: int = 0
    requires: tuple[str, ...] = ()


@dataclass(frozen=True)
class RolloutIn:
    """The rollout of the plan and where the launch is in it (the Launch row's live state)."""

    watch_minutes: int
    stages: tuple[StageIn, ...] = ()
    triggers: tuple[str, ...] = ()
    phase: str = PREPARING  # as stored: preparing, live or rolled_back
    live_at: datetime | None = None
    stage: int = 0
    stage_at: datetime | None = None
    tripped_at: datetime | None = None
    tripped_reason: str = ""
    ended_at: datetime | None = None


@dataclass(frozen=True)
class StageResult:
    spec: StageIn
    status: str  # done, current, next
    hold_until: datetime | None = None
    blockers: tuple[str, ...] = ()  # what keeps the current stage from going on


@dataclass(frozen=True)
class TriggerResult:
    key: str
    title: str
    status: str  # ok, fired, blind
    why: str


@dataclass(frozen=True)
class Watch:
    phase: str
    stages: tuple[StageResult, ...]
    triggers: tuple[TriggerResult, ...]
    watch_minutes: int
    live_at: datetime | None
    ends_at: datetime | None
    reason: str  # why it must roll back (or was rolled back)
    can_go_live: bool
    can_advance: bool
    headline: str

    @property
    def fired(self) -> tuple[str, ...]:
        return tuple(t.key for t in self.triggers if t.status == "fired")

    @property
    def blind(self) -> tuple[str, ...]:
        return tuple(t.key for t in self.triggers if t.status == "blind")

    @property
    def current(self) -> StageResult | None:
        return next((s for s in self.stages if s.status == "current"), None)

    def state(self) -> dict:
        """What a change of is worth recording (and telling people about)."""
        current = self.current
        return {
            "phase": self.phase,
            "stage": current.spec.key if current else None,
            "fired": list(self.fired),
            "reason": self.reason,
            # a stage that has held becomes ready by the clock: recorded, so the page's
            # button turns on without anyone reloading
            "can_advance": self.can_advance,
        }


def _trigger(key: str, result) -> TriggerResult:
    if result is None:
        return TriggerResult(key, key, "blind", "The plan has no such criterion.")
    title = result.spec.title
    if result.failing:
        return TriggerResult(key, title, "fired", result.why)
    if result.status in BLIND_STATUSES:
        return TriggerResult(key, title, "blind", f"Not watched: {result.why}")
    return TriggerResult(key, title, "ok", result.why)


def hours(minutes: int) -> str:
    return f"{minutes // 60} h" if minutes % 60 == 0 else f"{minutes} min"


def _hhmm(when: datetime) -> str:
    return when.strftime("%H:%M UTC")


def _stages(rollout: RolloutIn, criteria: Mapping, now: datetime, live: bool):
    results = []
    for i, stage in enumerate(rollout.stages):
        if not live or i > rollout.stage:
            results.append(StageResult(stage, "next"))
            continue
        if i < rollout.stage:
            results.append(StageResult(stage, "done"))
            continue
        since = rollout.stage_at or rollout.live_at or now
        hold_until = since + timedelta(seconds=stage.hold_s)
        blockers = []
        if now < hold_until:
            blockers.append(f"{stage.title} holds until {_hhmm(hold_until)}.")
        for key in stage.requires:
            c = criteria.get(key)
            if c is None or not c.ok or c.failing:
                title = c.spec.title if c else key
                status = c.status if c else "missing"
                blockers.append(f"{title} is {status}.")
        results.append(StageResult(stage, "current", hold_until, tuple(blockers)))
    return tuple(results)


def evaluate_watch(rollout: RolloutIn, criteria: Mapping, verdict: str, now: datetime) -> Watch:
    """``criteria``: the criteria results by key; ``verdict``: the readiness verdict."""
    triggers = tuple(_trigger(key, criteria.get(key)) for key in rollout.triggers)
    live = rollout.phase == LIVE
    stages = _stages(rollout, criteria, now, live)
    ends_at = (
        rollout.live_at + timedelta(minutes=rollout.watch_minutes) if rollout.live_at else None
    )
    fired = [t for t in triggers if t.status == "fired"]
    reason, can_advance = "", False
    last = len(rollout.stages) - 1
    done = live and ends_at is not None and now >= ends_at and rollout.stage >= last
    if rollout.phase == ROLLED_BACK:
        phase, reason = ROLLED_BACK, rollout.tripped_reason
        headline = "Rolled back" + (f": {reason}" if reason else ".")
    elif not live:
        phase = PREPARING
        headline = (
            "GO: ready to go live."
            if verdict == "GO"
            else f"Not live: the verdict is {verdict.replace('_', ' ')}."
        )
    elif rollout.tripped_at or (fired and not done):
        phase = ROLLBACK
        reason = rollout.tripped_reason or " ".join(f"{t.title}: {t.why}" for t in fired)
        headline = f"ROLL BACK: {reason}"
    elif done:
        # over: a trigger failing now is shown, no longer a reason to roll back
        phase = COMPLETE
        headline = f"Watch complete: {hours(rollout.watch_minutes)} live, all clear."
    else:
        phase = LIVE
        current = next((s for s in stages if s.status == "current"), None)
        can_advance = current is not None and rollout.stage < last and not current.blockers
        share = f"{current.spec.traffic:g}% of traffic" if current else "live"
        clear = (
            "all clear"
            if not [t for t in triggers if t.status == "blind"]
            else ("some triggers are not watched")
        )
        headline = f"Live: {share}, {clear}."
    return Watch(
        phase=phase,
        stages=stages,
        triggers=triggers,
        watch_minutes=rollout.watch_minutes,
        live_at=rollout.live_at,
        ends_at=ends_at,
        reason=reason,
        can_go_live=not live and rollout.phase == PREPARING and verdict == "GO",
        can_advance=can_advance,
        headline=headline,
    )
