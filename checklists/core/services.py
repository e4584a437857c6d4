"""Writes to a launch. Each service validates first, changes rows and appends its Event in one
transaction; open pages hear of it after commit."""

from __future__ import annotations

import logging
import re
import secrets
from dataclasses import asdict, dataclass, field, fields
from datetime import timedelta
from urllib.parse import urlsplit

from django.core.cache import caches
from django.db import IntegrityError, transaction
from django.utils import timezone

from checklists.core.access import access_changed, approver_roles
from checklists.core.events import append_event
from checklists.core.rollout import rollout_trip
from checklists.core.selectors import board_of, current_signoffs, launch_with_plan
from checklists.core.snapshot import differences, snapshot_hash, snapshot_of
from checklists.core.tokens import digest_of
from checklists.engine.plan import (
    INITIAL_STATE_FIELDS,
    CriterionSpec,
    GateSpec,
    LoadTestSpec,
    PlanSpec,
    RiskSpec,
    SignOffRoleSpec,
    TaskSpec,
)
from checklists.engine.thresholds import parse_threshold
from checklists.models import (
    Criterion,
    Gate,
    Launch,
    LoadTest,
    Membership,
    Risk,
    ShareLink,
    SignOff,
    SignOffRole,
    Task,
    Waiver,
)
from metrics import selectors as metrics_selectors
from metrics import services as metrics_services
from metrics.collectors import window_of

# (plan section, model, spec class, noun used in change notes)
PLAN_PARTS = (
    ("tasks", Task, TaskSpec, "task"),
    ("load_tests", LoadTest, LoadTestSpec, "load test"),
    ("criteria", Criterion, CriterionSpec, "criterion"),
    ("risks", Risk, RiskSpec, "risk"),
    ("gates", Gate, GateSpec, "gate"),
    ("signoffs", SignOffRole, SignOffRoleSpec, "sign-off role"),
)
LAUNCH_FIELDS = (
    "name",
    "summary",
    "target_at",
    "visibility",
    "next_steps",
    "window_start",
    "window_end",
    "timezone",
    "rollout",
    "rollback",
)


@dataclass
class ImportResult:
    launch: Launch
    created: bool
    changed: bool
    changes: list[str] = field(default_factory=list)


def _plan_fields(spec_cls) -> list[str]:
    skip = {"key", *INITIAL_STATE_FIELDS.get(spec_cls.__name__, ())}
    return [f.name for f in fields(spec_cls) if f.name not in skip]


def _db_value(value):
    return list(value) if isinstance(value, tuple) else value


def _initial_state(spec, now) -> dict:
    if isinstance(spec, TaskSpec):
        done = spec.status == Task.Status.DONE
        return {
            "status": spec.status,
            "blocked_reason": spec.blocked_reason,
            "done_at": now if done else None,
        }
    if isinstance(spec, CriterionSpec) and spec.checked:
        return {"checked": True, "checked_by_name": "plan", "checked_at": now}
    return {}


def _sync_part(launch: Launch, model, spec_cls, noun: str, specs) -> list[str]:
    """Create, update and delete one kind of plan row; live state of kept rows is untouched."""
    names = _plan_fields(spec_cls)
    existing = {obj.key: obj for obj in model.objects.filter(launch=launch)}
    changes, now = [], timezone.now()
    for order, spec in enumerate(specs):
        values = {name: _db_value(getattr(spec, name)) for name in names} | {"order": order}
        obj = existing.pop(spec.key, None)
        if obj is None:
            model.objects.create(launch=launch, key=spec.key, **values, **_initial_state(spec, now))
            changes.append(f"{noun} {spec.key} added")
            continue
        changed = [name for name, value in values.items() if getattr(obj, name) != value]
        if changed:
            for name in changed:
                setattr(obj, name, values[name])
            obj.save(update_fields=changed)
            changes.append(f"{noun} {spec.key} changed ({', '.join(changed)})")
    for key, obj in existing.items():
        obj.delete()
        changes.append(f"{noun} {key} removed")
    return changes


def source_queries(spec: PlanSpec) -> dict[str, list]:
    """What each live source must answer: [metric, aggregate, window_s] per criterion on it."""
    kinds = {s.key: s.kind for s in spec.sources}
    queries: dict[str, list] = {}
    for c in spec.criteria:
        if not c.source or not c.threshold or kinds[c.source] == "cloudwatch-alarms":
            continue
        t = parse_threshold(c.threshold)
        query = [c.metric, t.aggregate, window_of(kinds[c.source], t.window_s)]
        if query not in queries.setdefault(c.source, []):
            queries[c.source].append(query)
    return queries


def plan_import(spec: PlanSpec, *, actor=None, actor_name: str = "") -> ImportResult:
    """Create or update the launch ``spec`` describes. A no-op when the rows already say what
    the plan says; otherwise one ``plan.imported`` Event lists what changed. Ticks, task
    status, runs and sign-offs are kept.

    The rows are compared, not only the plan's hash: a row changed behind the plan's back (a
    database edit) is put back by importing the plan again, and the Event says so."""
    new_hash = spec.content_hash()
    with transaction.atomic():
        launch = Launch.objects.select_for_update().filter(slug=spec.launch.slug).first()
        created = launch is None
        if created:
            launch = Launch.objects.create(slug=spec.launch.slug, name=spec.launch.name)
        old_hash = launch.plan_hash
        changes = _sync_launch(launch, spec, new_hash)
        for part, model, spec_cls, noun in PLAN_PARTS:
            changes += _sync_part(launch, model, spec_cls, noun, getattr(spec, part))
        queries = source_queries(spec)
        changes += metrics_services.sources_sync(
            launch, [asdict(s) | {"queries": queries.get(s.key, [])} for s in spec.sources]
        )
        if not changes and old_hash == new_hash:
            return ImportResult(launch, created=False, changed=False)
        summary = "Launch created from its plan" if created else "Plan re-imported"
        append_event(
            launch,
            kind="plan.imported",
            subject=f"launch:{launch.slug}",
            summary=f"{summary}: {len(changes)} change(s)",
            actor=actor,
            actor_name=actor_name,
            before={"plan_hash": old_hash},
            after={"plan_hash": new_hash, "changes": changes[:200]},
        )
    return ImportResult(launch, created=created, changed=True, changes=changes)


def _sync_launch(launch: Launch, spec: PlanSpec, new_hash: str) -> list[str]:
    changed = [n for n in LAUNCH_FIELDS if getattr(launch, n) != getattr(spec.launch, n)]
    if "visibility" in changed and launch.pk:  # made private: open pages recheck their viewers
        access_changed()
    if not changed and launch.plan_hash == new_hash:
        return []
    for name in changed:
        setattr(launch, name, getattr(spec.launch, name))
    launch.plan_hash = new_hash
    launch.save(update_fields=[*changed, "plan_hash", "updated_at"])
    return [f"launch {name} changed" for name in changed]


# --- live state --------------------------------------------------------------------------------
class ChangeRefused(ValueError):
    """A change that is not allowed as asked; the message says why in plain words."""


class Conflict(ChangeRefused):
    """Someone changed the item since the page was loaded; ``current`` is its state now."""

    def __init__(self, message: str, current: dict):
        super().__init__(message)
        self.current = current


TASK_MOVES = {
    Task.Status.PENDING: {Task.Status.IN_PROGRESS, Task.Status.DONE, Task.Status.BLOCKED},
    Task.Status.IN_PROGRESS: {Task.Status.PENDING, Task.Status.DONE, Task.Status.BLOCKED},
    Task.Status.BLOCKED: {Task.Status.PENDING, Task.Status.IN_PROGRESS, Task.Status.DONE},
    Task.Status.DONE: {Task.Status.IN_PROGRESS, Task.Status.PENDING},
}


def _task_state(task: Task) -> dict:
    return {"status": task.status, "blocked_reason": task.blocked_reason, "done_at": task.done_at}


def _undone_prerequisites(task: Task) -> list[Task]:
    keys = [k for k in task.depends_on or [] if k != task.key]
    found = Task.objects.filter(launch_id=task.launch_id, key__in=keys).exclude(
        status=Task.Status.DONE
    )
    return sorted(found, key=lambda t: keys.index(t.key))


def task_move(
    task: Task, *, status: str, actor=None, reason: str = "", expected_status: str | None = None
) -> Task:
    """Move a task. Blocking needs a reason. ``expected_status`` is what the mover saw: if the
    task moved meanwhile the move is refused with what it is now (no lost update)."""
    with transaction.atomic():
        task = Task.objects.select_for_update().get(pk=task.pk)
        if expected_status and task.status != expected_status:
            raise Conflict(
                f"{task.title} was moved to {task.get_status_display().lower()} meanwhile.",
                _task_state(task),
            )
        if status not in TASK_MOVES.get(task.status, ()):
            raise ChangeRefused(f"{task.title} cannot go from {task.status} to {status}.")
        if status == Task.Status.BLOCKED and not reason.strip():
            raise ChangeRefused("Say why the task is blocked.")
        early = _undone_prerequisites(task) if status == Task.Status.DONE else []
        if early and not reason.strip():
            names = ", ".join(t.title for t in early)
            raise ChangeRefused(
                f"{task.title} comes after {names}, not done yet. Give a reason to mark it "
                "done anyway (it is recorded)."
            )
        before = _task_state(task)
        now = timezone.now()
        task.status = status
        task.blocked_reason = reason.strip()[:500] if status == Task.Status.BLOCKED else ""
        task.started_at = task.started_at or (now if status == Task.Status.IN_PROGRESS else None)
        task.done_at = now if status == Task.Status.DONE else None
        task.save(update_fields=["status", "blocked_reason", "started_at", "done_at"])
        why = f": {task.blocked_reason}" if task.blocked_reason else ""
        after = _task_state(task)
        if early:
            # done out of order on purpose: who, why and what was skipped stay in the audit trail
            why = f" before {', '.join(t.title for t in early)}: {reason.strip()[:500]}"
            after |= {"ahead_of": [t.key for t in early], "reason": reason.strip()[:500]}
        append_event(
            task.launch,
            kind="task.moved",
            subject=f"task:{task.key}",
            summary=f"moved {task.title} to {task.get_status_display().lower()}{why}",
            actor=actor,
            before=before,
            after=after,
        )
    return task


def _tick_state(c: Criterion) -> dict:
    return {
        "checked": c.checked,
        "by": c.checked_by_name,
        "at": c.checked_at,
        "evidence_url": c.evidence_url,
        "note": c.note,
    }


def web_link(text: str) -> bool:
    """An address a browser opens as a page: http(s) with a host, no script or data URL, and
    short enough for its column."""
    parsed = urlsplit(text)
    return parsed.scheme in ("http", "https") and bool(parsed.netloc) and len(text) <= 200


def criterion_tick(
    criterion: Criterion,
    *,
    checked: bool,
    actor=None,
    reason: str = "",
    evidence_url: str = "",
    expected_checked: bool | None = None,
) -> Criterion:
    """Tick or untick a manual criterion. Unticking needs a reason; a tick may carry a link to
    its evidence. ``expected_checked`` guards against a concurrent change, like task_move."""
    with transaction.atomic():
        c = Criterion.objects.select_for_update().get(pk=criterion.pk)
        if c.kind != Criterion.Kind.MANUAL:
            raise ChangeRefused(f"{c.title} is judged from evidence; it cannot be ticked.")
        if expected_checked is not None and c.checked != expected_checked:
            state = "ticked" if c.checked else "unticked"
            by = f" by {c.checked_by_name}" if c.checked_by_name else ""
            raise Conflict(f"{c.title} was {state}{by} meanwhile.", _tick_state(c))
        if c.checked == checked:
            return c
        if not checked and not reason.strip():
            raise ChangeRefused("Say why you untick it.")
        if checked and evidence_url.strip() and not web_link(evidence_url.strip()):
            raise ChangeRefused("An evidence link is an http:// or https:// address.")
        before = _tick_state(c)
        name = actor.get_username() if actor is not None else "system"
        c.checked, c.checked_at = checked, timezone.now() if checked else None
        c.checked_by = actor if checked and actor is not None else None
        c.checked_by_name = name if checked else ""
        c.evidence_url = evidence_url.strip() if checked else ""
        c.note = "" if checked else reason.strip()[:500]
        c.save(
            update_fields=[
                "checked",
                "checked_at",
                "checked_by",
                "checked_by_name",
                "evidence_url",
                "note",
            ]
        )
        verb = "ticked" if checked else f"unticked ({c.note})"
        append_event(
            c.launch,
            kind="criterion.ticked" if checked else "criterion.unticked",
            subject=f"criterion:{c.key}",
            summary=f"{verb} {c.title}",
            actor=actor,
            before=before,
            after=_tick_state(c),
        )
    return c


# --- readiness over time -----------------------------------------------------------------------
def readiness_state(readiness) -> dict:
    state = {
        "verdict": readiness.verdict,
        "criteria": {c.key: c.status for c in readiness.criteria},
        "signoffs": {s.spec.role: s.status for s in readiness.signoffs},
    }
    if readiness.watch is not None:
        state["watch"] = readiness.watch.state()
    return state


def _changes(before: dict, after: dict, titles: dict) -> list[str]:
    lines = []
    for key, status in after["criteria"].items():
        was = before.get("criteria", {}).get(key)
        if was and was != status:
            lines.append(f"{titles.get(key, key)}: {was} → {status}")
    for role, status in after["signoffs"].items():
        was = before.get("signoffs", {}).get(role)
        if was and was != status:
            lines.append(f"{role} sign-off: {was} → {status}")
    if before.get("verdict") and before["verdict"] != after["verdict"]:
        lines.insert(0, f"verdict {before['verdict']} → {after['verdict']}")
    was, now = before.get("watch") or {}, after.get("watch") or {}
    if was and now and was.get("phase") != now.get("phase"):
        words = {"rollback": "ROLL BACK", "rolled_back": "rolled back"}
        lines.insert(
            0,
            f"watch {words.get(was['phase'], was['phase'])} → "
            f"{words.get(now['phase'], now['phase'])}",
        )
    elif now.get("can_advance") and not was.get("can_advance"):
        lines.append(f"ramp-up: stage {now.get('stage')} has held and may go on")
    return lines


def readiness_check(launch_id: int) -> bool:
    """Compare the launch's readiness with the last look; record an Event for what changed by
    the clock or by live data (stale evidence, a new sample). True when something changed."""
    launch = launch_with_plan(pk=launch_id)
    readiness = board_of(launch).readiness
    watch = readiness.watch
    if watch is not None and watch.phase == "rollback" and not launch.tripped_at:
        return rollout_trip(launch_id)  # its Event records the new state
    state = readiness_state(readiness)
    if any(s.status == "stale" and not s.spec.lapsed for s in readiness.signoffs):
        signoffs_lapse(launch_id)  # stale by the clock alone: it stays stale from now on
    if state == launch.readiness_state:
        return False
    titles = {c.key: c.spec.title for c in readiness.criteria}
    with transaction.atomic():
        # Two looks at once (a sweep and a live sample, or two beats by mistake) must record a
        # change once: compare again under the launch's row lock.
        last = (
            Launch.objects.select_for_update()
            .values_list("readiness_state", flat=True)
            .get(pk=launch.pk)
        )
        if state == last:
            return False
        lines = _changes(last, state, titles)
        Launch.objects.filter(pk=launch.pk).update(readiness_state=state)
        if lines:
            append_event(
                launch,
                kind="readiness.changed",
                subject=f"launch:{launch.slug}",
                summary="; ".join(lines)[:300],
                actor_name="clock",
                before=last,
                after=state,
            )
    return bool(lines)


# --- people -------------------------------------------------------------------------------------
def _role_words(m) -> str:
    return f"{m.role} ({m.signoff_role})" if m.signoff_role else m.role


def membership_grant(launch, user, role: str, signoff_role: str = "", *, actor=None, actor_name=""):
    """Give ``user`` a role on the launch, recorded in the audit trail (and so on the page's
    activity feed). (membership, created). Nobody grants a role to themselves: another launch
    admin does (or an operator with the ``grant`` command), so no one alone can make themselves
    an approver and sign."""
    if actor is not None and getattr(actor, "pk", None) == user.pk:
        raise Refused("You cannot give yourself a role: another admin of this launch grants it.")
    with transaction.atomic():
        membership, created = Membership.objects.get_or_create(
            launch=launch, user=user, role=role, signoff_role=signoff_role
        )
        if created:
            append_event(
                launch,
                kind="member.added",
                subject=f"user:{user.pk}",
                summary=f"{user.get_username()} made {_role_words(membership)}",
                actor=actor,
                actor_name=actor_name,
                after={"user": user.get_username(), "role": role, "signoff_role": signoff_role},
            )
    return membership, created


def membership_remove(membership, *, actor=None, actor_name="") -> None:
    """Take a role away, recorded in the audit trail."""
    with transaction.atomic():
        membership.delete()
        append_event(
            membership.launch,
            kind="member.removed",
            subject=f"user:{membership.user_id}",
            summary=f"{membership.user.get_username()} is no longer {_role_words(membership)}",
            actor=actor,
            actor_name=actor_name,
            before={
                "user": membership.user.get_username(),
                "role": membership.role,
                "signoff_role": membership.signoff_role,
            },
        )


def share_link_create(launch, *, label: str, actor) -> str:
    """A read-only link to the launch; returns its secret, shown once (only its hash is kept)."""
    secret = secrets.token_urlsafe(24)
    with transaction.atomic():
        link = ShareLink.objects.create(
            launch=launch, label=label, digest=digest_of(secret), created_by=actor.get_username()
        )
        append_event(
            launch,
            kind="share.created",
            subject=f"share:{link.pk}",
            summary=f"Share link {link.label!r} made: anyone with it can read the launch",
            actor=actor,
        )
    return secret


def share_link_revoke(launch, link_id, *, actor) -> None:
    """End a share link (its open pages close: see receivers.rights_changed)."""
    with transaction.atomic():
        link = ShareLink.objects.filter(launch=launch, pk=link_id, revoked_at__isnull=True).first()
        if link is None:
            return
        link.revoked_at = timezone.now()
        link.save(update_fields=["revoked_at"])
        append_event(
            launch,
            kind="share.revoked",
            subject=f"share:{link.pk}",
            summary=f"Share link {link.label!r} revoked",
            actor=actor,
        )


# --- sign-off ----------------------------------------------------------------------------------
class Refused(ChangeRefused):
    """Not allowed for this person (403)."""


def _current_roles_signed(user, launch: Launch) -> set[str]:
    """Roles this person currently has an approval in force for on the launch."""
    rows = SignOff.objects.filter(launch=launch).order_by("role", "-at", "-id")
    return {
        role
        for role, (s, lapsed) in current_signoffs(rows).items()
        if s.user_id == user.pk and s.decision == "approved" and not lapsed
    }


def _signed_since_lapse(launch: Launch, role: str, digest: str) -> bool:
    """Whether this role already decided on this very state since its last lapse (a replayed
    form). Called under the launch's row lock, so two submissions cannot both pass."""
    for decision, signed in (
        SignOff.objects.filter(launch=launch, role=role)
        .order_by("-at", "-id")
        .values_list("decision", "snapshot_hash")
    ):
        if decision == SignOff.Decision.LAPSED:
            return False
        if signed == digest:
            return True
    return False


def role_holder_title(launch: Launch, role: str, user, acts: str) -> str:
    """The title of sign-off role ``role`` when ``user`` holds it now; else ChangeRefused (no
    such role) or Refused ("Only a CTO approver of this launch {acts} for CTO.")."""
    title = launch.signoff_roles.filter(key=role).values_list("title", flat=True).first()
    if title is None:
        raise ChangeRefused(f"This launch has no {role} sign-off.")
    if role not in approver_roles(user, launch):
        raise Refused(f"Only a {title} approver of this launch {acts} for {title}.")
    return title


def signoff_record(
    launch: Launch, role: str, *, user, decision: str, comment: str, shown_hash: str
):
    """Record an approval or rejection of exactly the readiness state the approver was shown.

    Role, person and time come from the server. Refused (403) unless the person holds the
    role, and unless they are not already the approver of another role (distinct people for
    distinct roles); Conflict (409) if the state changed since the form was shown, or if this
    very state was already signed for this role (a replayed form)."""
    if decision not in (SignOff.Decision.APPROVED, SignOff.Decision.REJECTED):
        raise ChangeRefused("Approve or reject.")
    if decision == SignOff.Decision.REJECTED and not comment.strip():
        raise ChangeRefused("Say why you reject it.")
    title = role_holder_title(launch, role, user, "signs")
    with transaction.atomic():
        Launch.objects.select_for_update().filter(pk=launch.pk).first()  # one sign-off at a time
        others = _current_roles_signed(user, launch) - {role}
        if others:
            raise Refused(
                f"You already approved as {', '.join(sorted(others))}; another "
                "person must sign for this role."
            )
        fresh = launch_with_plan(pk=launch.pk)
        snapshot = snapshot_of(fresh, board_of(fresh).readiness)
        current = snapshot_hash(snapshot)
        if current != shown_hash:
            shown = _shown_snapshot(shown_hash)
            raise Conflict(
                "The readiness state changed since the form was shown: review it "
                "again before signing.",
                # the form's own state is kept for an hour; past that, no list of changes
                {"hash": current, "changes": differences(shown, snapshot) if shown else []},
            )
        if _signed_since_lapse(launch, role, current):
            raise Conflict(f"{title} already signed this exact state.", {"hash": current})
        signoff = SignOff.objects.create(
            launch=launch,
            role=role,
            decision=decision,
            user=user,
            by_name=user.get_username(),
            comment=comment.strip(),
            at=timezone.now(),
            snapshot_hash=current,
            snapshot=snapshot,
        )
        verb = "approved" if decision == SignOff.Decision.APPROVED else "rejected"
        append_event(
            launch,
            kind=f"signoff.{verb}",
            subject=f"signoff:{role}",
            summary=f"{title} {verb}" + (f": {comment.strip()}" if comment.strip() else ""),
            actor=user,
            after={"role": role, "decision": decision, "snapshot_hash": current},
        )
    return signoff


def signoffs_lapse(launch_id: int, statuses: dict | None = None) -> list[str]:
    """Record that approvals the readiness now calls stale have lapsed: from then on they stay
    stale whatever the state does (a run invalidated, a plan put back, an item ticked again),
    until their role signs again. Called after every change that could make one stale (see
    events._after_commit) and by the clock; returns the roles that lapsed.

    ``statuses`` (role: status, from the rendering just made) lets a launch whose stale
    approvals have all lapsed already skip the evaluation: one query, not a render's worth."""
    if statuses is not None:
        rows = (
            SignOff.objects.filter(launch_id=launch_id)
            .order_by("role", "-at", "-id")
            .only("id", "role", "decision", "comment", "at")
        )
        current = current_signoffs(rows)
        if not any(
            status == "stale" and role in current and not current[role][1]
            for role, status in statuses.items()
        ):
            return []
    try:
        return _lapse(launch_id)
    except IntegrityError:  # another process recorded the same lapse first
        return []


def _lapse(launch_id: int) -> list[str]:
    with transaction.atomic():
        launch = Launch.objects.select_for_update().get(pk=launch_id)
        fresh = launch_with_plan(pk=launch_id)
        newest = current_signoffs(fresh.signoffs.all())
        lapsing = [
            (s, newest[s.spec.role][0])
            for s in board_of(fresh).readiness.signoffs
            if s.status == "stale" and s.spec.role in newest and not newest[s.spec.role][1]
        ]
        now = timezone.now()
        for result, approval in lapsing:
            SignOff.objects.create(
                launch=launch,
                role=approval.role,
                decision=SignOff.Decision.LAPSED,
                user=None,
                by_name="system",
                comment=result.why,
                at=max(now, approval.at + timedelta(microseconds=1)),
                snapshot_hash=f"lapsed:{approval.pk}",
                snapshot={"approval": approval.pk, "approval_hash": approval.snapshot_hash},
            )
            append_event(
                launch,
                kind="signoff.lapsed",
                subject=f"signoff:{approval.role}",
                summary=result.why,
                actor_name="system",
                before={"role": approval.role, "status": "approved", "by": approval.by_name},
                after={"role": approval.role, "status": "stale", "approval": approval.pk},
            )
    return [approval.role for _, approval in lapsing]


def _shown_snapshot(shown_hash: str) -> dict:
    """The snapshot behind a hash shown earlier, when this server still has it cached."""
    try:
        return caches["sections"].get(f"lb:snapshot:{shown_hash}") or {}
    except Exception:
        return {}


def remember_snapshot(snapshot: dict, digest: str) -> None:
    """Keep a shown snapshot for an hour, so a refused sign-off can say what changed."""
    try:
        caches["sections"].set(f"lb:snapshot:{digest}", snapshot, 3600)
    except Exception:  # only the refusal's explanation is lost
        logging.getLogger(__name__).debug("could not keep snapshot %s", digest, exc_info=True)


# --- waivers -----------------------------------------------------------------------------------
def unconfigured_source(launch, criterion) -> str:
    """The title of the live source ``criterion`` waits for when this installation has not
    configured it (its environment variables are unset), else ""."""
    if not criterion.source:
        return ""
    return metrics_selectors.unconfigured_sources(launch.pk).get(criterion.source, "")


def waiver_grant(
    launch: Launch,
    criterion_key: str,
    *,
    user,
    reason: str,
    compensating_control: str,
    expires_at,
    current_status: str,
    current_value: float | None,
    not_applicable: bool = False,
):
    """Accept a failing criterion for this launch, until ``expires_at``. Only an approver of a
    role the criterion allows (any approver if the plan names none). ``not_applicable``: the
    criterion waits for a live source this installation has not configured; it is marked "not
    applicable here" instead (no evidence is pretended: evidence, once there, judges it)."""
    c = launch.criteria.filter(key=criterion_key).first()
    if c is None:
        raise ChangeRefused(f"No criterion {criterion_key}.")
    held = approver_roles(user, launch)
    allowed = held & set(c.waivable_by) if c.waivable_by else held
    if not allowed:
        raise Refused(
            f"Only an approver of {', '.join(c.waivable_by) or 'this launch'} may waive {c.title}."
        )
    if not_applicable:
        if not unconfigured_source(launch, c):
            where = "a live source that is set up here" if c.source else "its own evidence"
            raise ChangeRefused(f"{c.title} is judged from {where}: it applies here.")
        if current_status != "pending":
            raise ChangeRefused(f"{c.title} is {current_status}: it has evidence, so it applies.")
    elif current_status not in ("fail", "warn") and not (
        c.kind == "manual" and current_status == "pending"
    ):
        raise ChangeRefused(f"{c.title} is {current_status}: only a failure can be waived.")
    if not reason.strip() or not compensating_control.strip():
        raise ChangeRefused("A waiver needs a reason and a compensating control.")
    if expires_at is None or expires_at <= timezone.now():
        raise ChangeRefused("A waiver needs an expiry in the future.")
    if expires_at > timezone.now() + timedelta(days=90):
        raise ChangeRefused("A waiver lasts at most 90 days.")
    with transaction.atomic():
        waiver = Waiver.objects.create(
            launch=launch,
            criterion=c.key,
            role=sorted(allowed)[0],
            user=user,
            by_name=user.get_username(),
            reason=reason.strip(),
            compensating_control=compensating_control.strip(),
            expires_at=expires_at,
            value_at_waiver=current_value,
            not_applicable=not_applicable,
        )
        append_event(
            launch,
            kind="waiver.granted",
            subject=f"criterion:{c.key}",
            summary=f"{'marked not applicable here' if not_applicable else 'waived'} {c.title} "
            f"until {expires_at:%Y-%m-%d %H:%M} UTC: {reason}",
            actor=user,
            after={
                "waiver": waiver.pk,
                "criterion": c.key,
                "role": waiver.role,
                "expires_at": expires_at,
                "value": current_value,
            },
        )
    return waiver


def waiver_revoke(waiver, *, user) -> None:
    with transaction.atomic():
        revoked = Waiver.objects.filter(pk=waiver.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now(), revoked_by=user.get_username()
        )
        if not revoked:
            return  # already revoked: a repeated form records nothing
        append_event(
            waiver.launch,
            kind="waiver.revoked",
            subject=f"criterion:{waiver.criterion}",
            summary=f"revoked the waiver of {waiver.criterion}",
            actor=user,
            before={"waiver": waiver.pk},
        )


# --- which test a run is evidence for -----------------------------------------------------------
def _words(text: str) -> list[str]:
    return [w for w in re.split(r"[^a-z0-9]+", text.lower()) if w]


def guess_test(tests, scenarios, filename: str) -> tuple[str, str]:
    """(test key, how it was told) from a run's k6 scenario names and its file name, against
    the plan's load tests [(key, title)]; ("", why not) when nothing or more than one fits:
    a person chooses then, it is never guessed at random."""
    named = [s for s in scenarios if s.lower() not in ("default", "")]
    levels = (
        ("its scenario", lambda key, title, s: _words(s) in (_words(key), _words(title))),
        ("its scenario", lambda key, title, s: set(_words(key)) <= set(_words(s))),
        ("its file name", lambda key, title, s: set(_words(key)) <= set(_words(s))),
    )
    for where, fits in levels:
        found = {}
        for name in named if where == "its scenario" else [filename]:
            for key, title in tests:
                if fits(key, title, name):
                    found.setdefault(key, name)
        if len(found) == 1:
            [(key, name)] = found.items()
            return key, f"told from {where} {name!r}"
        if len(found) > 1:
            return "", f"{where} fits more than one test ({', '.join(sorted(found))})"
    return "", "neither its scenarios nor its file name name one of the plan's tests"


def infer_run_test(run_id: int) -> str:
    """Give a run ingested without a test the test its file tells (an Event says how); the
    key, or "" when the file does not tell (the page then asks for it)."""
    run = metrics_selectors.run_by_id(run_id)
    if run is None or run.test:
        return run.test if run else ""
    tests = list(LoadTest.objects.filter(launch_id=run.launch_id).values_list("key", "title"))
    key, why = guess_test(tests, list(run.scenarios or {}), run.filename)
    if key:
        metrics_services.run_set_test(run, key, actor_name="Launchboard", why=why)
    return key


def run_test_change(run, test: str, *, actor) -> bool:
    """An engineer says which test a run is evidence for ("" for none). Refused for a key the
    plan does not have."""
    if test and not LoadTest.objects.filter(launch_id=run.launch_id, key=test).exists():
        raise ChangeRefused(f"This launch has no load test {test!r}.")
    name = actor.get_username() if actor is not None else ""
    return metrics_services.run_set_test(run, test, actor_name=name, why="chosen by hand")
