"""Time travel: the board of any past version, rebuilt from what the engine was given then.

With every Event, in the same transaction, ``capture`` records the readiness engine's inputs
(the plan as stored with its ticks, task states, waivers and sign-offs; each metric criterion's
observation; the newest run of each test and each live source's health, which the sign-off
snapshot covers) and the moment the version is evaluated at: its event's time. The inputs are
stored as a tree of content-addressed parts (like git's trees): a version that ticks one item
adds that item's part, its group's list and a root, and shares the rest with the version
before. Rebuilding a version reads its root, the groups and the leaves (four queries whatever
the number of events before it) and runs the pure engine again: ``board_at``.

The live board evaluates a version at the same moment from the rows the change left
(``checklists.board.sections``), so the readiness JSON served when a version is made is the one
rebuilt later: a test holds the two equal over every kind of change. Live data that changes no
state redraws the current version with its new values (no new version); a past version is the
board as it was made.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, fields, is_dataclass, replace
from datetime import datetime

import orjson
from django.db import transaction

from checklists.core.observations import observations_of
from checklists.core.selectors import Board, launch_with_plan, plan_in
from checklists.core.snapshot import newest_runs, snapshot_from, snapshot_hash
from checklists.engine import readiness as engine
from checklists.engine.thresholds import Threshold
from checklists.engine.watch import RolloutIn, StageIn
from checklists.models import BoardState, Event, Launch, StatePart
from metrics import selectors as evidence

# Changes that cannot move the readiness: their version shares the inputs of the one before.
NEUTRAL = frozenset(
    {
        "member.added",
        "member.removed",
        "share.created",
        "share.revoked",
        "meeting.opened",
        "meeting.voted",
        "decision.recorded",
    }
)
GROUPS = ("tasks", "criteria", "risks", "gates", "signoffs", "observations")
_CLASSES = {
    cls.__name__: cls
    for cls in (
        engine.TaskIn,
        engine.CriterionIn,
        engine.Observation,
        engine.WaiverIn,
        engine.RiskIn,
        engine.GateIn,
        engine.SignOffIn,
        Threshold,
        RolloutIn,
        StageIn,
    )
}


class NotRecorded(LookupError):
    """No board was recorded for that version (it came before time travel, or never was)."""


# --- encoding: the engine's dataclasses as plain JSON, and back, exactly --------------------
def encode(value):
    if is_dataclass(value) and not isinstance(value, type):
        return {"$": type(value).__name__} | {
            f.name: encode(getattr(value, f.name)) for f in fields(value)
        }
    if isinstance(value, datetime):
        return {"$d": value.isoformat()}
    if isinstance(value, tuple):
        return {"$t": [encode(v) for v in value]}
    if isinstance(value, list):
        return [encode(v) for v in value]
    if isinstance(value, dict):
        return {"$m": {str(k): encode(v) for k, v in value.items()}}
    if isinstance(value, float) and not math.isfinite(value):
        return {"$f": repr(value)}
    return value


def decode(value):
    if isinstance(value, list):
        return [decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    if "$" in value:
        cls = _CLASSES[value["$"]]
        return cls(**{k: decode(v) for k, v in value.items() if k != "$"})
    if "$d" in value:
        return datetime.fromisoformat(value["$d"])
    if "$t" in value:
        return tuple(decode(v) for v in value["$t"])
    if "$m" in value:
        return {k: decode(v) for k, v in value["$m"].items()}
    if "$f" in value:
        return float(value["$f"])
    raise ValueError(f"unknown recorded value {sorted(value)}")


def _sha(data) -> str:
    return hashlib.sha256(orjson.dumps(data, option=orjson.OPT_SORT_KEYS)).hexdigest()


# --- what a version holds ---------------------------------------------------------------------
@dataclass(frozen=True)
class Inputs:
    """The engine's arguments at one version, and what the sign-off snapshot adds to them."""

    plan: engine.PlanIn
    observations: dict[str, engine.Observation]
    runs: dict[str, str]  # test key: content hash of its newest run (complete if any)
    sources: dict[str, str]  # live source key: health
    at: datetime

    def readiness(self) -> engine.Readiness:
        return engine.evaluate(self.plan, self.observations, self.at)

    def snapshot(self) -> tuple[dict, str]:
        """(snapshot, its SHA-256) of this board: what a sign-off or a decision is bound to."""
        plan = self.plan
        snapshot = snapshot_from(
            plan.slug, plan.plan_hash, self.readiness(), self.runs, self.sources
        )
        return snapshot, snapshot_hash(snapshot)


def inputs_of(launch: Launch, at: datetime) -> Inputs:
    """The inputs as the database holds them now (``launch`` with its plan prefetched)."""
    return Inputs(
        plan=plan_in(launch),
        observations=observations_of(launch),
        runs=newest_runs(launch),
        sources={s.key: s.health for s in evidence.sources_for(launch.pk)},
        at=at,
    )


def _tree(inputs: Inputs) -> tuple[dict, dict[str, object]]:
    """(root, {sha: part}) for ``inputs``."""
    parts: dict[str, object] = {}

    def put(data) -> str:
        sha = _sha(data)
        parts[sha] = data
        return sha

    plan = inputs.plan
    items = {
        "tasks": [(t.key, t) for t in plan.tasks],
        "criteria": [(c.key, c) for c in plan.criteria],
        "risks": [(r.key, r) for r in plan.risks],
        "gates": [(g.key, g) for g in plan.gates],
        "signoffs": [(s.role, s) for s in plan.signoffs],
        "observations": sorted(inputs.observations.items()),
    }
    root = {group: put([[k, put(encode(item))] for k, item in items[group]]) for group in GROUPS}
    launch = {"slug": plan.slug, "name": plan.name, "plan_hash": plan.plan_hash}
    if plan.rollout is not None or plan.window_start is not None:
        # only then: a launch without them keeps the parts it always had
        launch["after_go"] = encode(
            [plan.rollout, plan.window_start, plan.window_end, plan.timezone]
        )
    root["launch"] = put(launch)
    root["waivers"] = put(encode(tuple(plan.waivers)))
    root["evidence"] = put({"runs": inputs.runs, "sources": inputs.sources})
    return root, parts


def record(launch_id: int, version: int, at: datetime, kind: str = "") -> BoardState:
    """Record the inputs of ``version``; called by append_event, in the transaction of the
    change, after it."""
    if kind in NEUTRAL or kind.startswith("token."):
        before = BoardState.objects.filter(launch_id=launch_id, version=version - 1).first()
        if before is not None:
            return BoardState.objects.create(
                launch_id=launch_id, version=version, at=at, root=before.root
            )
    return capture(launch_id, version, at)


def capture(launch_id: int, version: int, at: datetime) -> BoardState:
    """Record the inputs of ``version`` as the database holds them now."""
    with evidence.one_read():  # the runs and sources are read once, not per use
        inputs = inputs_of(launch_with_plan(pk=launch_id), at)
    root, parts = _tree(inputs)
    parts[root_sha := _sha(root)] = root
    known = set(StatePart.objects.filter(sha__in=list(parts)).values_list("sha", flat=True))
    StatePart.objects.bulk_create(
        [StatePart(sha=sha, data=data) for sha, data in parts.items() if sha not in known],
        ignore_conflicts=True,  # another launch may store the same part at the same moment
    )
    return BoardState.objects.create(launch_id=launch_id, version=version, at=at, root=root_sha)


def ensure_current(launch_id: int) -> None:
    """Record the launch's current version if it was made before records were kept (a
    database from before this feature): its rows are still that version's."""
    launch = Launch.objects.only("id", "version").get(pk=launch_id)
    if (
        launch.version
        and not BoardState.objects.filter(launch_id=launch_id, version=launch.version).exists()
    ):
        with transaction.atomic():
            locked = Launch.objects.select_for_update().only("id", "version").get(pk=launch_id)
            if not BoardState.objects.filter(launch_id=launch_id, version=locked.version).exists():
                capture(launch_id, locked.version, version_time(locked))


def _parts(shas) -> dict[str, object]:
    return dict(StatePart.objects.filter(sha__in=list(shas)).values_list("sha", "data"))


def inputs_at(launch_id: int, version: int) -> Inputs:
    """The recorded inputs of ``version`` (four queries); NotRecorded if there are none."""
    state = BoardState.objects.filter(launch_id=launch_id, version=version).first()
    if state is None:
        raise NotRecorded(f"version {version} was not recorded")
    root = _parts([state.root])[state.root]
    upper = _parts(root.values())
    leaves = _parts(sha for group in GROUPS for _, sha in upper[root[group]])
    items = {group: [(k, decode(leaves[sha])) for k, sha in upper[root[group]]] for group in GROUPS}
    launch, found = upper[root["launch"]], upper[root["evidence"]]
    plan = engine.PlanIn(
        slug=launch["slug"],
        name=launch["name"],
        version=version,
        tasks=tuple(t for _, t in items["tasks"]),
        criteria=tuple(c for _, c in items["criteria"]),
        risks=tuple(r for _, r in items["risks"]),
        gates=tuple(g for _, g in items["gates"]),
        signoffs=tuple(s for _, s in items["signoffs"]),
        waivers=decode(upper[root["waivers"]]),
        plan_hash=launch["plan_hash"],
    )
    if "after_go" in launch:
        rollout, start, end, zone = decode(launch["after_go"])
        plan = replace(plan, rollout=rollout, window_start=start, window_end=end, timezone=zone)
    return Inputs(plan, dict(items["observations"]), found["runs"], found["sources"], state.at)


def board_at(launch: Launch, version: int) -> Board:
    """The board of ``version`` rebuilt; ``launch`` is the live row, copied with the version's
    name and version so the page and JSON read as they did."""
    inputs = inputs_at(launch.pk, version)
    past = Launch(
        pk=launch.pk,
        slug=launch.slug,
        name=inputs.plan.name,
        version=version,
        visibility=launch.visibility,
    )
    return Board(past, inputs.readiness(), inputs.at)


def snapshot_at(launch_id: int, version: int) -> tuple[dict, str]:
    """(snapshot, its SHA-256) of the board rebuilt at ``version``: what a sign-off or a
    decision record made then is bound to."""
    return inputs_at(launch_id, version).snapshot()


def version_time(launch: Launch) -> datetime | None:
    """When the launch's current version was made (None before its first event)."""
    return (
        Event.objects.filter(launch_id=launch.pk, version=launch.version)
        .values_list("created_at", flat=True)
        .first()
    )


def version_at(launch: Launch, when: datetime) -> int:
    """The launch's version at ``when``: that of its newest event made then or before (0: the
    launch did not exist yet)."""
    return (
        Event.objects.filter(launch=launch, created_at__lte=when)
        .order_by("-version")
        .values_list("version", flat=True)
        .first()
        or 0
    )
