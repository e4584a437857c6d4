"""The watch after GO: going live, ramping up, a trigger firing and its end. Every change is a
service that appends its Event (and so a version, a push and a notification).

The evaluated watch (checklists.engine.watch) says what the board shows; these services move
the state it is evaluated from, each refusing what the board does not allow at that moment.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from checklists.core.events import append_event
from checklists.core.selectors import board_of, launch_with_plan
from checklists.engine import watch as engine
from checklists.models import Launch


class RolloutRefused(ValueError):
    """A rollout change the board does not allow now; the message says why."""


def _locked(launch: Launch):
    """(the launch row, locked, with its plan; its board now)."""
    Launch.objects.select_for_update().only("id").get(pk=launch.pk)
    fresh = launch_with_plan(pk=launch.pk)
    return fresh, board_of(fresh).readiness


def _stage_words(stage: dict) -> str:
    return f"{stage['title']} ({stage['traffic']:g}% of traffic)"


def rollout_start(launch: Launch, *, actor=None) -> Launch:
    """Go live at the first ramp-up stage: only on GO, only once."""
    with transaction.atomic():
        launch, readiness = _locked(launch)
        watch = readiness.watch
        if watch is None:
            raise RolloutRefused("The plan has no rollout (stages, watch and triggers).")
        if launch.phase != Launch.Phase.PREPARING:
            raise RolloutRefused(f"{launch.name} is already {launch.get_phase_display().lower()}.")
        if not watch.can_go_live:
            raise RolloutRefused(
                f"Going live needs GO; the verdict is {readiness.verdict.replace('_', ' ')}."
            )
        now = timezone.now()
        launch.phase, launch.live_at, launch.stage, launch.stage_at = "live", now, 0, now
        launch.save(update_fields=["phase", "live_at", "stage", "stage_at", "updated_at"])
        stages = launch.rollout.get("stages") or []
        first = f" at {_stage_words(stages[0])}" if stages else ""
        append_event(
            launch,
            kind="rollout.started",
            subject=f"launch:{launch.slug}",
            summary=f"went live{first}; watching {engine.hours(launch.rollout['watch_minutes'])}",
            actor=actor,
            before={"phase": "preparing"},
            after={"phase": "live", "stage": stages[0]["key"] if stages else None},
        )
    return launch


def rollout_advance(launch: Launch, *, actor=None, expected_stage: str | None = None) -> Launch:
    """Go on to the next stage once the current one has held and its criteria hold.
    ``expected_stage``: the stage the person saw (a double click does not skip a stage)."""
    with transaction.atomic():
        launch, readiness = _locked(launch)
        watch = readiness.watch
        if watch is None or watch.phase != engine.LIVE:
            phase = watch.phase.replace("_", " ") if watch else "not rolling out"
            raise RolloutRefused(f"Only a live launch ramps up; this one is {phase}.")
        current = watch.current
        if expected_stage and current and current.spec.key != expected_stage:
            raise RolloutRefused(f"The launch is already at {current.spec.title}.")
        if current is None or current is watch.stages[-1]:
            raise RolloutRefused("This is the last stage.")
        if not watch.can_advance:
            why = " ".join(current.blockers)
            raise RolloutRefused(f"{current.spec.title} cannot go on yet. {why}".strip())
        stages = launch.rollout["stages"]
        launch.stage = watch.stages.index(current) + 1
        launch.stage_at = timezone.now()
        launch.save(update_fields=["stage", "stage_at", "updated_at"])
        append_event(
            launch,
            kind="rollout.advanced",
            subject=f"launch:{launch.slug}",
            summary=f"ramped up to {_stage_words(stages[launch.stage])}",
            actor=actor,
            before={"stage": stages[launch.stage - 1]["key"]},
            after={"stage": stages[launch.stage]["key"]},
        )
    return launch


def rollout_trip(launch_id: int) -> bool:
    """A rollback trigger fired while live: the launch stays at ROLL BACK (until people say
    it was rolled back or resume) even if the trigger clears by itself. True if it tripped now."""
    with transaction.atomic():
        launch, readiness = _locked(Launch(pk=launch_id))
        watch = readiness.watch
        if launch.tripped_at or not watch or watch.phase != engine.ROLLBACK:
            return False  # not live, already tripped, or the watch is over
        launch.tripped_at, launch.tripped_reason = timezone.now(), watch.reason[:2000]
        launch.save(update_fields=["tripped_at", "tripped_reason", "updated_at"])
        append_event(
            launch,
            kind="rollout.tripped",
            subject=f"launch:{launch.slug}",
            summary=f"ROLL BACK: {watch.reason}",
            actor_name="clock",
            before={"phase": "live"},
            after={"phase": "rollback", "fired": list(watch.fired), "reason": watch.reason},
        )
    return True


def rollout_end(launch: Launch, *, outcome: str, reason: str, actor=None) -> Launch:
    """After ROLL BACK: ``rolled_back`` (the previous version serves again; the watch ends) or
    ``resume`` (a false alarm: the watch goes on; refused while a trigger still fires)."""
    reason = reason.strip()
    if not reason:
        raise RolloutRefused("Say what happened (it is recorded).")
    with transaction.atomic():
        launch, readiness = _locked(launch)
        watch = readiness.watch
        if outcome == "rolled_back":
            if launch.phase != Launch.Phase.LIVE:
                raise RolloutRefused(f"{launch.name} is not live.")
            launch.phase, launch.ended_at = Launch.Phase.ROLLED_BACK, timezone.now()
            launch.tripped_reason = (launch.tripped_reason or reason)[:2000]
            summary = f"rolled back: {reason}"
        elif outcome == "resume":
            if watch is None or watch.phase != engine.ROLLBACK:
                raise RolloutRefused("Only a launch at ROLL BACK can resume.")
            if watch.fired:
                names = ", ".join(t.title for t in watch.triggers if t.status == "fired")
                raise RolloutRefused(f"A trigger still fires ({names}): it cannot resume.")
            launch.tripped_at, launch.tripped_reason = None, ""
            summary = f"resumed the watch: {reason}"
        else:
            raise RolloutRefused(f"{outcome!r} is not rolled_back or resume.")
        launch.save(
            update_fields=["phase", "ended_at", "tripped_at", "tripped_reason", "updated_at"]
        )
        append_event(
            launch,
            kind=f"rollout.{'rolled_back' if outcome == 'rolled_back' else 'resumed'}",
            subject=f"launch:{launch.slug}",
            summary=summary[:300],
            actor=actor,
            before={"phase": watch.phase if watch else launch.phase},
            after={"phase": launch.phase, "reason": reason[:500]},
        )
    return launch
