"""Plan as code: a launch plan in YAML <-> ``PlanSpec`` dataclasses. Pure (no Django).

``load_plan`` validates everything before anything is stored and raises ``PlanError`` with the
file, line and reason; ``dump_plan`` writes YAML that loads back to an equal ``PlanSpec``. The
format is documented in docs/plan-format.md.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import MISSING, asdict, dataclass, field, fields, replace
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from checklists.engine.thresholds import ThresholdError, parse_threshold
from metrics.collectors import Query, validate_config, validate_query, window_of  # pure

KEY_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,79}$")
PRIORITIES = ("critical", "high", "optional")
TASK_STATUSES = ("pending", "in_progress", "done", "blocked")
SECTIONS = ("checklist", "validation", "suite", "live")
LEVELS = ("high", "medium", "low")
VISIBILITIES = ("public", "private")
SOURCE_KINDS = ("influxdb1", "influxdb2", "cloudwatch", "cloudwatch-alarms")


class PlanError(ValueError):
    """A plan that cannot be used. ``str()`` is ``PATH:LINE: message``."""

    def __init__(self, message: str, line: int | None = None, path: str = "<plan>"):
        super().__init__(message)
        self.message, self.line, self.path = message, line, path

    def __str__(self):
        return f"{self.path}:{self.line or 1}: {self.message}"


# --- YAML with line numbers --------------------------------------------------------------------
class LineDict(dict):
    line = 1
    key_lines: dict


class LineList(list):
    line = 1
    item_lines: list


class _Loader(yaml.SafeLoader):
    pass


def _construct_mapping(loader, node):
    loader.flatten_mapping(node)
    result = LineDict()
    result.line, result.key_lines = node.start_mark.line + 1, {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        if not isinstance(key, str | int | float | bool) or key is None:
            raise PlanError("keys must be plain words", line)
        if key in result:
            raise PlanError(f"duplicate key {key!r}", line)
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[key] = line
    return result


def _construct_sequence(loader, node):
    result = LineList(loader.construct_object(child, deep=True) for child in node.value)
    result.line = node.start_mark.line + 1
    result.item_lines = [child.start_mark.line + 1 for child in node.value]
    return result


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


# --- durations ---------------------------------------------------------------------------------
_DURATION_RE = re.compile(
    r"(\d+(?:\.\d+)?)\s*(d|days?|h|hours?|hrs?|m|mins?|minutes?|s|secs?|seconds?)", re.I
)
_UNIT_SECONDS = {"d": 86400, "h": 3600, "m": 60, "s": 1}


def parse_duration_seconds(value: Any, default_unit: str = "s") -> int:
    """'1h 30m', '45 min', '90s', or a bare number in ``default_unit`` -> seconds."""
    if isinstance(value, bool):
        raise ValueError("a duration, not true/false")
    if isinstance(value, int | float):
        return int(value * _UNIT_SECONDS[default_unit])
    text = str(value).strip()
    if not text or _DURATION_RE.sub("", text).strip(" ,") != "":
        raise ValueError(f"{value!r} is not a duration (write e.g. 5m, 1h, 1h 30m, 30s)")
    return int(sum(float(n) * _UNIT_SECONDS[u[0].lower()] for n, u in _DURATION_RE.findall(text)))


def format_duration(seconds: int) -> str:
    parts = []
    for unit, size in (("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size or (unit == "s" and not parts):
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(parts)


# --- specs -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LaunchSpec:
    slug: str
    name: str
    summary: str = ""
    target_at: datetime | None = None
    visibility: str = "private"
    # after the decision: [{"title": ..., "items": [...]}], shown as the plan's next steps
    next_steps: list = field(default_factory=list)
    # the launch window (YAML: launch.window {start, end, timezone})
    window_start: datetime | None = None
    window_end: datetime | None = None
    timezone: str = ""
    # after GO (YAML: the rollout: and rollback: sections), as plain data; see _rollout
    rollout: dict = field(default_factory=dict)
    rollback: list = field(default_factory=list)


@dataclass(frozen=True)
class TaskSpec:
    key: str
    title: str
    priority: str
    estimate_minutes: int
    status: str = "pending"
    depends_on: tuple[str, ...] = ()
    runbook: str = ""
    blocked_reason: str = ""


@dataclass(frozen=True)
class LoadTestSpec:
    key: str
    title: str
    description: str = ""
    command: str = ""


@dataclass(frozen=True)
class SourceSpec:
    key: str
    kind: str
    title: str
    config: dict = field(default_factory=dict)
    interval_seconds: int = 60
    stale_after_seconds: int = 300

    def __hash__(self):
        return hash((self.key, self.kind))


@dataclass(frozen=True)
class CriterionSpec:
    key: str
    title: str
    kind: str = ""
    section: str = "checklist"
    required: bool = True
    description: str = ""
    test: str = ""
    source: str = ""
    metric: str = ""
    threshold: str = ""
    warn: str = ""
    measure: str = ""
    unit: str = ""
    after: str = ""
    max_age_seconds: int | None = None
    all_of: tuple[str, ...] = ()
    params: dict = field(default_factory=dict)
    waivable_by: tuple[str, ...] = ()
    checked: bool = False

    def __hash__(self):
        return hash(self.key)


@dataclass(frozen=True)
class RiskSpec:
    key: str
    title: str
    before_level: str
    after_level: str
    before_value: str = ""
    after_value: str = ""
    mitigation: str = ""
    measured_by: tuple[str, ...] = ()


@dataclass(frozen=True)
class GateSpec:
    key: str
    title: str
    requires_tasks: tuple[str, ...] = ()
    requires_criteria: tuple[str, ...] = ()
    pass_label: str = "Continue"  # noqa: S105 - a label, not a password
    fail_label: str = "NO GO"


@dataclass(frozen=True)
class SignOffRoleSpec:
    key: str
    title: str
    required: bool = True


@dataclass(frozen=True)
class WindowSpec:
    """When the launch may go live, in the team's time zone (read into LaunchSpec's fields)."""

    start: datetime
    end: datetime
    timezone: str = "UTC"


@dataclass(frozen=True)
class StageSpec:
    """A ramp-up stage: the share of traffic, how long it must hold, and the criteria that must
    hold to go on to the next stage."""

    key: str
    title: str
    traffic: float
    hold_seconds: int = 0
    requires: tuple[str, ...] = ()


@dataclass(frozen=True)
class RolloutSpec:
    """The watch after GO: its stages, how long it lasts, and the rollback triggers (live
    criteria that keep being judged after go-live; one failing turns the page to ROLL BACK)."""

    watch_minutes: int
    stages: tuple = ()
    triggers: tuple[str, ...] = ()


@dataclass(frozen=True)
class RollbackStepSpec:
    key: str
    title: str
    owner: str = ""
    estimate_minutes: int = 0
    runbook: str = ""


# Live state the plan only seeds: applied when an item is created, never on re-import.
INITIAL_STATE_FIELDS = {"TaskSpec": ("status", "blocked_reason"), "CriterionSpec": ("checked",)}


@dataclass(frozen=True)
class PlanSpec:
    launch: LaunchSpec
    tasks: tuple[TaskSpec, ...] = ()
    load_tests: tuple[LoadTestSpec, ...] = ()
    sources: tuple[SourceSpec, ...] = ()
    criteria: tuple[CriterionSpec, ...] = ()
    risks: tuple[RiskSpec, ...] = ()
    gates: tuple[GateSpec, ...] = ()
    signoffs: tuple[SignOffRoleSpec, ...] = ()

    def content_hash(self) -> str:
        """SHA-256 of the plan without its initial state: equal hashes mean nothing to import."""
        return hashlib.sha256(canonical_json(plan_fingerprint(self))).hexdigest()


def plan_fingerprint(spec: PlanSpec) -> dict:
    data = asdict(spec)
    for name, cls in (("tasks", "TaskSpec"), ("criteria", "CriterionSpec")):
        for item in data[name]:
            for state_field in INITIAL_STATE_FIELDS[cls]:
                item.pop(state_field)
    return data


def canonical_json(data: Any) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), default=str).encode()


# --- field readers -----------------------------------------------------------------------------
class _Bad(ValueError):
    """A value error inside one field; the reader adds the line."""


def _text(value):
    if isinstance(value, dict | list) or value is None:
        raise _Bad("must be text")
    return str(value).strip() if not isinstance(value, str) else value.rstrip()


def _key(value):
    if not isinstance(value, str) or not KEY_RE.match(value):
        raise _Bad(f"{value!r} is not a key (lowercase letters, digits, - and _)")
    return value


def _slug(value):
    # /launches/new/ is the new-launch page: a launch called "new" could never be opened
    if value == "new":
        raise _Bad("'new' is kept for the new-launch page; choose another slug")
    return _key(value)


def _bool(value):
    if not isinstance(value, bool):
        raise _Bad(f"{value!r} must be true or false")
    return value


def _keys(value):
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise _Bad("must be a list of keys")
    return tuple(_key(v) for v in value)


def _choice(*choices):
    def read(value):
        if value not in choices:
            raise _Bad(f"{value!r} is not one of {', '.join(choices)}")
        return value

    return read


def _minutes(value):
    try:
        seconds = parse_duration_seconds(value, default_unit="m")
    except ValueError as exc:
        raise _Bad(str(exc)) from None
    if seconds <= 0 or seconds % 60:
        raise _Bad(f"{value!r} must be a positive number of whole minutes")
    return seconds // 60


def _seconds(value):
    try:
        seconds = parse_duration_seconds(value)
    except ValueError as exc:
        raise _Bad(str(exc)) from None
    if seconds <= 0:
        raise _Bad(f"{value!r} must be a positive duration")
    return seconds


def _threshold(value):
    try:
        parse_threshold(value)
    except ThresholdError as exc:
        raise _Bad(str(exc)) from None
    return value.strip()


def _mapping(value):
    if not isinstance(value, dict):
        raise _Bad("must be a mapping")
    return _plain(value)


def _plain(value):
    """LineDict/LineList -> dict/list, so specs compare and serialise as plain data."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _steps(value):
    """The plan's next steps: each a line, or a mapping with a ``title`` and ``items`` (lines)."""
    if not isinstance(value, list):
        raise _Bad("must be a list of steps")
    steps = []
    for step in value:
        if isinstance(step, str) and step.strip():
            steps.append({"title": step.strip(), "items": []})
            continue
        if not isinstance(step, dict) or not isinstance(step.get("title"), str):
            raise _Bad("each step is a line, or a mapping with a title and items")
        unknown = sorted(set(step) - {"title", "items"})
        if unknown:
            raise _Bad(f"a step has title and items, not {', '.join(map(str, unknown))}")
        items = step.get("items") or []
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise _Bad("a step's items must be a list of lines")
        steps.append({"title": step["title"].strip(), "items": [i.strip() for i in items]})
    return steps


def _datetime(value):
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        raise _Bad(f"{value!r} is not a date and time (write 2025-01-19T09:00:00Z)") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@dataclass(frozen=True)
class F:
    """One YAML key of a spec: the dataclass field, its reader and whether it must be given."""

    name: str
    read: Callable
    required: bool = False
    yaml_key: str = ""

    @property
    def key(self):
        return self.yaml_key or self.name


SCHEMAS: dict[type, tuple[F, ...]] = {
    LaunchSpec: (
        F("slug", _slug, True),
        F("name", _text, True),
        F("summary", _text),
        F("target_at", _datetime, yaml_key="target"),
        F("visibility", _choice(*VISIBILITIES)),
        F("next_steps", _steps),
    ),
    TaskSpec: (
        F("key", _key, True),
        F("title", _text, True),
        F("priority", _choice(*PRIORITIES), True),
        F("estimate_minutes", _minutes, True, "estimate"),
        F("status", _choice(*TASK_STATUSES)),
        F("depends_on", _keys),
        F("runbook", _text),
        F("blocked_reason", _text),
    ),
    LoadTestSpec: (
        F("key", _key, True),
        F("title", _text, True),
        F("description", _text),
        F("command", _text),
    ),
    SourceSpec: (
        F("key", _key, True),
        F("kind", _choice(*SOURCE_KINDS), True),
        F("title", _text, True),
        F("config", _mapping),
        F("interval_seconds", _seconds, yaml_key="interval"),
        F("stale_after_seconds", _seconds, yaml_key="stale_after"),
    ),
    CriterionSpec: (
        F("key", _key, True),
        F("title", _text, True),
        F("kind", _choice("manual", "metric")),
        F("section", _choice(*SECTIONS)),
        F("required", _bool),
        F("description", _text),
        F("test", _key),
        F("source", _key),
        F("metric", _text),
        F("threshold", _threshold),
        F("warn", _threshold),
        F("measure", _text),
        F("unit", _choice("%", "ms", "s", "count", "")),
        F("after", _key),
        F("max_age_seconds", _seconds, yaml_key="max_age"),
        F("all_of", _keys),
        F("params", _mapping),
        F("waivable_by", _keys),
        F("checked", _bool),
    ),
    RiskSpec: (
        F("key", _key, True),
        F("title", _text, True),
        F("before_level", _choice(*LEVELS), True, "before"),
        F("after_level", _choice(*LEVELS), True, "after"),
        F("before_value", _text),
        F("after_value", _text),
        F("mitigation", _text),
        F("measured_by", _keys),
    ),
    GateSpec: (
        F("key", _key, True),
        F("title", _text, True),
        F("requires_tasks", _keys),
        F("requires_criteria", _keys),
        F("pass_label", _text, yaml_key="on_pass"),
        F("fail_label", _text, yaml_key="on_fail"),
    ),
    SignOffRoleSpec: (
        F("key", _key, True, "role"),
        F("title", _text, True),
        F("required", _bool),
    ),
}


def _percent(value):
    if isinstance(value, str):
        value = value.strip().rstrip("%").strip()
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise _Bad(f"{value!r} is not a share of traffic (write e.g. 10 or 10%)") from None
    if not 0 < number <= 100:
        raise _Bad(f"{value!r} must be more than 0% and at most 100% of traffic")
    return int(number) if number.is_integer() else number


def _zone(value):
    try:
        ZoneInfo(str(value))
    except (ZoneInfoNotFoundError, ValueError):
        raise _Bad(f"{value!r} is not a time zone (write e.g. Europe/Berlin or UTC)") from None
    return str(value)


def _hold(value):
    try:
        return parse_duration_seconds(value, default_unit="m")
    except ValueError as exc:
        raise _Bad(str(exc)) from None


def _stages(value):
    # read item by item by _read_rollout, which has the lines
    if not isinstance(value, list):
        raise _Bad("must be a list of stages")
    return value


SCHEMAS.update(
    {
        WindowSpec: (
            F("start", _datetime, True),
            F("end", _datetime, True),
            F("timezone", _zone),
        ),
        StageSpec: (
            F("key", _key, True),
            F("title", _text, True),
            F("traffic", _percent, True),
            F("hold_seconds", _hold, yaml_key="hold"),
            F("requires", _keys),
        ),
        RolloutSpec: (
            F("watch_minutes", _minutes, True, "watch"),
            F("stages", _stages),
            F("triggers", _keys),
        ),
        RollbackStepSpec: (
            F("key", _key, True),
            F("title", _text, True),
            F("owner", _text),
            F("estimate_minutes", _minutes, yaml_key="estimate"),
            F("runbook", _text),
        ),
    }
)
SECTIONS_OF_PLAN = (
    ("tasks", TaskSpec),
    ("load_tests", LoadTestSpec),
    ("sources", SourceSpec),
    ("criteria", CriterionSpec),
    ("risks", RiskSpec),
    ("decision", GateSpec),
    ("signoffs", SignOffRoleSpec),
)
TOP_KEYS = ("launch", *(name for name, _ in SECTIONS_OF_PLAN), "rollout", "rollback")


def _read_item(cls, data, line: int, what: str):
    if not isinstance(data, dict):
        raise PlanError(f"{what} must be a mapping of keys to values", line)
    schema = {f.key: f for f in SCHEMAS[cls]}
    lines = getattr(data, "key_lines", {})
    for key in data:
        if key not in schema:
            known = ", ".join(schema)
            raise PlanError(f"unknown key {key!r} in {what} (known: {known})", lines.get(key, line))
    values = {}
    for f in SCHEMAS[cls]:
        if f.key not in data:
            if f.required:
                raise PlanError(f"{what} is missing {f.key!r}", line)
            continue
        try:
            values[f.name] = f.read(data[f.key])
        except _Bad as exc:
            raise PlanError(f"{what}: {f.key}: {exc}", lines.get(f.key, line)) from None
    return cls(**values)


def _read_list(cls, data, section: str, line: int) -> tuple[tuple, list[int]]:
    if data is None:
        return (), []
    if not isinstance(data, list):
        raise PlanError(f"{section} must be a list", line)
    items, seen = [], {}
    item_lines = getattr(data, "item_lines", [line] * len(data))
    for raw, item_line in zip(data, item_lines, strict=True):
        what = f"{section} item"
        if isinstance(raw, dict) and isinstance(raw.get("key") or raw.get("role"), str):
            what = f"{section} item {raw.get('key') or raw.get('role')!r}"
        item = _read_item(cls, raw, item_line, what)
        if item.key in seen:
            raise PlanError(
                f"duplicate key {item.key!r} in {section} (first at line {seen[item.key]})",
                item_line,
            )
        seen[item.key] = item_line
        items.append(item)
    return tuple(items), item_lines


# --- cross references --------------------------------------------------------------------------
def _infer_kind(c: CriterionSpec, line: int) -> CriterionSpec:
    kind = c.kind or ("metric" if (c.threshold or c.all_of) else "manual")
    if kind == "metric" and not c.all_of:
        if not c.threshold:
            raise PlanError(f"criterion {c.key!r} is a metric criterion without a threshold", line)
        if not c.metric or not (c.test or c.source):
            raise PlanError(
                f"criterion {c.key!r} needs a metric and where it comes from (test: or source:)",
                line,
            )
        if c.test and c.source:
            raise PlanError(f"criterion {c.key!r}: give either test: or source:, not both", line)
    if kind == "manual" and (c.threshold or c.test or c.source):
        raise PlanError(f"criterion {c.key!r} is manual but names evidence or a threshold", line)
    return CriterionSpec(**{**asdict(c), "kind": kind, "all_of": c.all_of})


def _refs(what: str, names, known, line: int, kind: str):
    for name in names:
        if name and name not in known:
            raise PlanError(f"{what} names {kind} {name!r}, which the plan does not define", line)


def _find_cycle(edges: dict[str, tuple[str, ...]]) -> list[str] | None:
    """A dependency cycle as a list of keys, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node):
        state[node] = 1
        stack.append(node)
        for nxt in edges.get(node, ()):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in edges:
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def _check_references(plan: PlanSpec, lines: dict[str, list[int]]) -> None:
    tasks = {t.key for t in plan.tasks}
    tests = {t.key for t in plan.load_tests}
    sources = {s.key: s for s in plan.sources}
    criteria = {c.key for c in plan.criteria}
    for t, line in zip(plan.tasks, lines["tasks"], strict=True):
        _refs(f"task {t.key!r} depends_on", t.depends_on, tasks, line, "task")
    roles = {s.key for s in plan.signoffs}
    for c, line in zip(plan.criteria, lines["criteria"], strict=True):
        _check_criterion_refs(c, line, tasks, tests, sources, criteria)
        _refs(f"criterion {c.key!r} waivable_by", c.waivable_by, roles, line, "sign-off role")
    for r, line in zip(plan.risks, lines["risks"], strict=True):
        _refs(f"risk {r.key!r} measured_by", r.measured_by, criteria, line, "criterion")
    for g, line in zip(plan.gates, lines["decision"], strict=True):
        _refs(f"gate {g.key!r} requires_tasks", g.requires_tasks, tasks, line, "task")
        _refs(f"gate {g.key!r} requires_criteria", g.requires_criteria, criteria, line, "criterion")
    for edges, name, section in (
        ({t.key: t.depends_on for t in plan.tasks}, "depends_on", "tasks"),
        ({c.key: c.all_of for c in plan.criteria}, "all_of", "criteria"),
    ):
        if cycle := _find_cycle(edges):
            keys = [item.key for item in getattr(plan, section)]
            line = lines[section][keys.index(cycle[0])]
            raise PlanError(f"cycle in {name}: {' -> '.join(cycle)}", line)


def _check_criterion_refs(c, line, tasks, tests, sources, criteria):
    _refs(f"criterion {c.key!r} test", [c.test], tests, line, "load test")
    _refs(f"criterion {c.key!r} source", [c.source], sources, line, "source")
    _refs(f"criterion {c.key!r} after", [c.after], tasks, line, "task")
    _refs(f"criterion {c.key!r} all_of", c.all_of, criteria, line, "criterion")
    declared = sources[c.source].config.get("metrics") if c.source else None
    if isinstance(declared, dict) and c.metric not in declared:
        raise PlanError(
            f"criterion {c.key!r} metric {c.metric!r} is not one of source {c.source!r}'s "
            f"metrics ({', '.join(declared)})",
            line,
        )
    if c.source and c.threshold:
        _check_live_query(c, sources[c.source], line)


def _check_live_query(c, source, line):
    """The source must be able to answer what the criterion asks (an aggregate it computes)."""
    if source.kind == "cloudwatch-alarms":
        if c.metric not in source.config.get("alarms", []):
            raise PlanError(
                f"criterion {c.key!r}: alarm {c.metric!r} is not in source {source.key!r}'s alarms",
                line,
            )
        return
    t = parse_threshold(c.threshold)
    query = Query(c.metric, t.aggregate, window_of(source.kind, t.window_s))
    problems = validate_query(source.kind, source.config, query)
    if problems:
        raise PlanError(f"criterion {c.key!r}: {problems[0]}", line)


def _check_sources(plan: PlanSpec, lines: list[int]) -> None:
    for s, line in zip(plan.sources, lines, strict=True):
        problems = validate_config(s.kind, s.config)
        if problems:
            raise PlanError(f"source {s.key!r}: {problems[0]}", line)


# --- load / dump -------------------------------------------------------------------------------
def load_plan(text: str, path: str = "<plan>") -> PlanSpec:
    try:
        return _load(text)
    except PlanError as exc:
        exc.path = path
        raise
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        message = f"not valid YAML: {exc.problem or exc.context}"
        if exc.context and exc.context_mark and exc.problem_mark:
            message += f" ({exc.context} started at line {exc.context_mark.line + 1})"
        raise PlanError(message, line, path) from None
    except yaml.YAMLError as exc:
        raise PlanError(f"not valid YAML: {exc}", None, path) from None


def _load(text: str) -> PlanSpec:
    data = yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader
    if not isinstance(data, dict):
        raise PlanError("a plan is a mapping with launch:, tasks:, criteria:, ...", 1)
    for key in data:
        if key not in TOP_KEYS:
            known = ", ".join(TOP_KEYS)
            raise PlanError(f"unknown key {key!r} (known: {known})", data.key_lines[key])
    if "launch" not in data:
        raise PlanError("the plan has no launch: section (slug and name)", 1)
    launch_data, window = _without(data["launch"], "window")
    launch = _read_item(LaunchSpec, launch_data, data.key_lines["launch"], "launch")
    if window is not None:
        w = _read_window(window, launch_data.key_lines.get("window", 1))
        launch = replace(launch, window_start=w.start, window_end=w.end, timezone=w.timezone)
    if "rollout" in data:
        launch = replace(launch, rollout=_read_rollout(data["rollout"], data.key_lines["rollout"]))
    if "rollback" in data:
        steps, _ = _read_list(
            RollbackStepSpec, data["rollback"], "rollback", data.key_lines["rollback"]
        )
        launch = replace(launch, rollback=[asdict(step) for step in steps])
    parts, lines = {}, {}
    for section, cls in SECTIONS_OF_PLAN:
        section_line = data.key_lines.get(section, 1)
        parts[section], lines[section] = _read_list(cls, data.get(section), section, section_line)
    parts["criteria"] = tuple(
        _infer_kind(c, line) for c, line in zip(parts["criteria"], lines["criteria"], strict=True)
    )
    plan = PlanSpec(launch=launch, gates=parts.pop("decision"), **parts)
    _check_sources(plan, lines["sources"])
    _check_references(plan, lines)
    _check_rollout(plan, data.get("rollout"), data.key_lines.get("rollout", 1))
    return plan


def _without(data, key: str):
    """(a copy of the mapping ``data`` without ``key``, with its lines; the value at ``key``)."""
    if not isinstance(data, dict):
        return data, None
    rest = LineDict((k, v) for k, v in data.items() if k != key)
    rest.line = getattr(data, "line", 1)
    rest.key_lines = dict(getattr(data, "key_lines", {}))
    return rest, data.get(key)


def _read_window(data, line: int) -> WindowSpec:
    """A naive start or end is in the window's own time zone, not UTC."""
    if not isinstance(data, dict):
        raise PlanError("launch window must be a mapping with start, end and timezone", line)
    window = _read_item(WindowSpec, data, line, "launch window")
    zone = ZoneInfo(window.timezone)
    lines = getattr(data, "key_lines", {})

    def local(name):
        raw = data[name]
        naive = isinstance(raw, datetime) and raw.tzinfo is None
        naive = naive or (isinstance(raw, str) and datetime.fromisoformat(raw).tzinfo is None)
        value = getattr(window, name)
        return value.replace(tzinfo=zone) if naive else value

    start, end = local("start"), local("end")
    if end <= start:
        raise PlanError("launch window: end must come after start", lines.get("end", line))
    return replace(window, start=start, end=end)


def _read_rollout(data, line: int) -> dict:
    rollout = _read_item(RolloutSpec, data, line, "rollout")
    stages, _ = _read_list(StageSpec, rollout.stages or None, "rollout stages", line)
    previous = 0
    for stage, stage_line in zip(stages, getattr(rollout.stages, "item_lines", []), strict=False):
        if stage.traffic <= previous:
            raise PlanError(
                f"rollout stage {stage.key!r}: traffic must grow from stage to stage "
                f"({stage.traffic}% after {previous}%)",
                stage_line,
            )
        previous = stage.traffic
    plain = asdict(replace(rollout, stages=()))
    plain["stages"] = [asdict(s) | {"requires": list(s.requires)} for s in stages]
    plain["triggers"] = list(rollout.triggers)
    return plain


def _check_rollout(plan: PlanSpec, raw, line: int) -> None:
    """Triggers are live criteria; a stage's requirements are criteria. ``raw``: the rollout as
    read, for the lines of its triggers and stages."""
    rollout = plan.launch.rollout
    if not rollout:
        return
    criteria = {c.key: c for c in plan.criteria}
    trigger_line = getattr(raw, "key_lines", {}).get("triggers", line)
    for key in rollout["triggers"]:
        c = criteria.get(key)
        if c is None:
            raise PlanError(f"rollout trigger {key!r} is not a criterion of the plan", trigger_line)
        if not c.source:
            raise PlanError(
                f"rollout trigger {key!r} must be judged from a live source (source:), so it "
                "keeps being judged after go-live",
                trigger_line,
            )
    stage_lines = getattr(raw.get("stages") if isinstance(raw, dict) else None, "item_lines", [])
    for i, stage in enumerate(rollout["stages"]):
        where = stage_lines[i] if i < len(stage_lines) else line
        what = f"rollout stage {stage['key']!r} requires"
        _refs(what, stage["requires"], criteria, where, "criterion")


def _defaults(cls) -> dict:
    result = {}
    for f in fields(cls):
        if f.default is not MISSING:
            result[f.name] = f.default
        elif f.default_factory is not MISSING:
            result[f.name] = f.default_factory()
    return result


def _dump_item(item) -> dict:
    defaults = _defaults(type(item))
    out = {}
    for f in SCHEMAS[type(item)]:
        value = getattr(item, f.name)
        if f.name in defaults and value == defaults[f.name] and not f.required:
            continue
        if f.read is _minutes:
            value = format_duration(value * 60)
        elif f.read is _seconds or f.read is _hold:
            value = format_duration(value)
        elif isinstance(value, tuple):
            value = list(value)
        elif isinstance(value, datetime):
            value = value.isoformat().replace("+00:00", "Z")
        out[f.key] = value
    return out


class _Dumper(yaml.SafeDumper):
    pass


def _represent_str(dumper, value):
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)


def _dump_launch(launch: LaunchSpec) -> dict:
    out = _dump_item(launch)
    for name in ("window_start", "window_end", "timezone", "rollout", "rollback"):
        out.pop(name, None)
    if launch.window_start and launch.window_end:
        zone = ZoneInfo(launch.timezone or "UTC")
        out["window"] = {
            "start": launch.window_start.astimezone(zone).isoformat(),
            "end": launch.window_end.astimezone(zone).isoformat(),
            "timezone": launch.timezone or "UTC",
        }
    return out


def _dump_rollout(rollout: dict) -> dict:
    stages = [
        _dump_item(StageSpec(**{**s, "requires": tuple(s.get("requires", ()))}))
        for s in rollout.get("stages", [])
    ]
    out = {"watch": format_duration(rollout["watch_minutes"] * 60)}
    if stages:
        out["stages"] = stages
    if rollout.get("triggers"):
        out["triggers"] = list(rollout["triggers"])
    return out


def dump_plan(plan: PlanSpec) -> str:
    doc: dict[str, Any] = {"launch": _dump_launch(plan.launch)}
    for section, _cls in SECTIONS_OF_PLAN:
        items = plan.gates if section == "decision" else getattr(plan, section)
        if items:
            doc[section] = [_dump_item(item) for item in items]
    if plan.launch.rollout:
        doc["rollout"] = _dump_rollout(plan.launch.rollout)
    if plan.launch.rollback:
        doc["rollback"] = [_dump_item(RollbackStepSpec(**step)) for step in plan.launch.rollback]
    header = "# Launchboard plan (format: docs/plan-format.md)\n"
    return header + yaml.dump(doc, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
