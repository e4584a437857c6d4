"""A launch action plan written in markdown -> a plan YAML draft for review. Pure (no Django).

``markdown_draft`` reads what a team writes before launch day (a timeline table or task bullets,
numbered steps with their commands, checklists, threshold lines, a risk table, a decision tree,
a launch date) with markdown-it-py, whose tokens carry their source lines, and builds a
``PlanSpec``. Every prose line that produced nothing is returned as ``Skipped`` with its line, so
the reviewer sees what the draft left out. Numbers are computed from the rows, never copied from
the prose (a "Total Time" line is reported, not used). Nothing is guessed that the text does not
say: a task gets ``depends_on`` only from an explicit "after"/"depends on", a criterion a test
and metric only when its line (or its heading) names them; otherwise it is a manual criterion.
The rules are documented in docs/markdown-import.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

from markdown_it import MarkdownIt

from checklists.engine.plan import (
    CriterionSpec,
    GateSpec,
    LaunchSpec,
    LoadTestSpec,
    PlanError,
    PlanSpec,
    RiskSpec,
    SignOffRoleSpec,
    TaskSpec,
    dump_plan,
    load_plan,
)


class NotAPlan(ValueError):
    """The markdown holds nothing a plan can be drafted from."""


@dataclass(frozen=True)
class Skipped:
    line: int
    reason: str
    text: str = ""


@dataclass(frozen=True)
class Draft:
    plan: PlanSpec
    yaml: str
    skipped: tuple[Skipped, ...]


# --- markdown -> blocks with line numbers ------------------------------------------------------
@dataclass
class _Block:
    kind: str  # heading | line | fence | table
    line: int  # 1-based
    text: str = ""
    level: int = 0  # heading level, or list depth of a line
    item: bool = False  # the first line of a list item
    info: str = ""
    rows: list = field(default_factory=list)  # table: [(line, [cells])], the header first


_INLINE_MARKS = re.compile(r"\*\*|__|`|~~")
_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")


def _plain(raw: str) -> str:
    return _INLINE_MARKS.sub("", _LINK.sub(r"\1", raw)).strip()


def _blocks(text: str) -> list[_Block]:
    tokens = MarkdownIt("commonmark").enable("table").parse(text)
    blocks: list[_Block] = []
    depth, fresh_item, i = 0, False, 0
    while i < len(tokens):
        t = tokens[i]
        if t.type == "heading_open":
            level = int(t.tag[1])
            blocks.append(_Block("heading", t.map[0] + 1, _plain(tokens[i + 1].content), level))
        elif t.type in ("bullet_list_open", "ordered_list_open"):
            depth += 1
        elif t.type in ("bullet_list_close", "ordered_list_close"):
            depth -= 1
        elif t.type == "list_item_open":
            fresh_item = True
        elif t.type == "paragraph_open":
            for n, raw in enumerate(tokens[i + 1].content.split("\n")):
                item = fresh_item and n == 0
                blocks.append(_Block("line", t.map[0] + 1 + n, _plain(raw), depth, item))
            fresh_item = False
        elif t.type in ("fence", "code_block"):
            blocks.append(_Block("fence", t.map[0] + 1, t.content, info=t.info.strip()))
        elif t.type == "html_block":
            for n, raw in enumerate(t.content.rstrip("\n").split("\n")):
                blocks.append(_Block("line", t.map[0] + 1 + n, raw.strip()))
        elif t.type == "table_open":
            i, rows = _table(tokens, i)
            blocks.append(_Block("table", rows[0][0], rows=rows))
        i += 1
    return blocks


def _table(tokens, i: int) -> tuple[int, list]:
    rows: list = []
    while tokens[i].type != "table_close":
        t = tokens[i]
        if t.type == "tr_open":
            rows.append((t.map[0] + 1, []))
        elif t.type == "inline":
            rows[-1][1].append(_plain(t.content))
        i += 1
    return i, rows


# --- words: durations, levels, priorities, statuses --------------------------------------------
_DURATION = re.compile(
    r"(?P<h>\d+(?:\.\d+)?)\s*(?:h|hrs?|hours?)\s*(?P<hm>\d+)?\s*(?:m|mins?|minutes?)?(?![a-z])"
    r"|(?P<m>\d+)\s*(?:m|mins?|minutes?)(?![a-z])"
    r"|(?P<hh>\d+):(?P<mm>\d\d)(?!\d)",
    re.I,
)


def _minutes(text: str) -> int | None:
    """'5 min', '1 hour', '1h30', '1h 30m', '90 min', '1.5 h', '1:30' -> minutes (None if none)."""
    total, found = 0.0, False
    for m in _DURATION.finditer(text):
        found = True
        if m["h"]:
            total += float(m["h"]) * 60 + int(m["hm"] or 0)
        elif m["m"]:
            total += int(m["m"])
        else:
            total += int(m["hh"]) * 60 + int(m["mm"])
    return round(total) if found and total >= 1 else None


def _is_duration(text: str) -> bool:
    return (
        bool(text.strip()) and _DURATION.sub("", text).strip(" ,.~") == "" and bool(_minutes(text))
    )


_LEVELS = (
    ("high", ("🔴", "high", "critical", "severe")),
    ("medium", ("🟡", "🟠", "medium", "med", "moderate")),
    ("low", ("🟢", "low", "minimal")),
)
_PRIORITIES = (
    ("critical", ("🔴", "critical", "p0", "blocker", "must")),
    ("high", ("🟡", "🟠", "high", "p1", "important", "medium", "should")),
    ("optional", ("🟢", "optional", "nice to have", "nice-to-have", "low", "p2", "p3", "could")),
)
_STATUSES = (
    ("done", ("✅", "✔", "☑", "done", "completed", "complete", "finished", "[x]")),
    ("in_progress", ("🔄", "🚧", "in progress", "in-progress", "wip", "ongoing", "started")),
    ("blocked", ("⛔", "🚫", "❌", "blocked")),
    ("pending", ("⏳", "pending", "todo", "to do", "not started", "planned", "waiting", "open")),
)
_EMOJI = re.compile("[\U0001f300-\U0001faff\u2600-\u27bf\u2b00-\u2bff\ufe0f]")


def _word_in(text: str, words) -> bool:
    low = text.lower()
    for w in words:
        if _EMOJI.fullmatch(w) or not w[0].isalnum():
            if w in low:
                return True
        elif re.search(rf"(?<![a-z0-9]){re.escape(w)}(?![a-z0-9])", low):
            return True
    return False


def _pick(text: str, table) -> str | None:
    return next((name for name, words in table if _word_in(text, words)), None)


def _strip_marks(text: str) -> str:
    text = _EMOJI.sub("", text)
    return re.sub(r"\s+", " ", text).strip(" -\u2013\u2014:*")


def _slug(text: str, limit: int = 40) -> str:
    words = re.findall(r"[a-z0-9]+", text.lower())
    slug = ""
    for w in words:
        if slug and len(slug) + 1 + len(w) > limit:
            break
        slug = f"{slug}-{w}" if slug else w[:limit]
    return slug or "item"


def _launch_slug(name: str) -> str:
    # /launches/new/ is the new-launch page, so the loader refuses a launch called "new"
    slug = _slug(name, 50)
    return "new-launch" if slug == "new" else slug


def _unique(key: str, taken: set[str]) -> str:
    candidate, n = key, 2
    while candidate in taken:
        candidate, n = f"{key}-{n}", n + 1
    taken.add(candidate)
    return candidate


# --- matching titles (a step heading to a timeline row, a tree box to a task) ------------------
_STOP = {
    "a",
    "an",
    "the",
    "to",
    "of",
    "and",
    "for",
    "on",
    "in",
    "re",
    "again",
    "add",
    "implement",
    "configure",
    "set",
    "up",
    "create",
    "do",
    "run",
    "new",
}
_SYNONYMS = {"database": "db", "postgres": "db", "configuration": "config"}


def _words(text: str) -> set[str]:
    out = set()
    for w in re.findall(r"[a-z0-9]+", text.lower()):
        w = _SYNONYMS.get(w, w)
        if w.endswith("ies") and len(w) > 4:
            w = w[:-3] + "y"
        elif w.endswith("s") and len(w) > 3 and not w.endswith("ss"):
            w = w[:-1]
        if w not in _STOP:
            out.add(w)
    return out


def _similarity(a: str, b: str) -> float:
    """Jaccard of the significant words; 1.0 when all words of one are in the other."""
    wa, wb = _words(a), _words(b)
    if not wa or not wb:
        return 0.0
    if wa <= wb or wb <= wa:
        return 1.0
    return len(wa & wb) / len(wa | wb)


# --- thresholds --------------------------------------------------------------------------------
_OPS = (
    ("<=", r"<=|≤|at most|no more than|not more than|max(?:imum)?"),
    (">=", r">=|≥|at least|no less than|min(?:imum)?"),
    ("<", r"<|under|below|less than|lower than"),
    (">", r">|above|over|more than|greater than|higher than"),
    ("==", r"==|=|equals?"),
)
_COMPARISON = re.compile(
    r"(?P<op>" + "|".join(f"(?:{alt})" for _, alt in _OPS) + r")\s*:?\s*"
    r"(?P<num>\d+(?:[.,]\d+)?)\s*(?P<unit>%|percent|ms|milliseconds?|seconds?|secs?|s|minutes?|mins?)?"
    r"(?![a-z0-9])",
    re.I,
)
_TESTS = (
    ("baseline", "Baseline", r"baseline"),
    ("peak", "Peak load", r"peak"),
    ("spike", "Spike", r"spike"),
    ("endurance", "Endurance", r"endurance"),
    ("soak", "Soak", r"soak"),
    ("stress", "Stress", r"stress"),
    ("business-flow", "Business flow", r"business[ -]flows?"),
)
_LABEL = re.compile(r"^(?P<label>[A-Za-z][\w -]{0,40}?):\s+(?P<rest>.+)$")


@dataclass
class _Metric:
    metric: str
    aggregate: str
    unit: str = ""  # how the threshold's number is written: % (a rate), ms, s or a count


def _metric_of(words: str) -> _Metric | None:
    low = words.lower()
    if p := re.search(r"\bp\(?(\d{2}(?:\.\d+)?)\)?(?![\d.])", low):
        return _Metric("http_req_duration", f"p({p[1]})", "ms")
    if re.search(r"latency|response time|duration", low):
        return _Metric("http_req_duration", "avg", "ms")
    if re.search(r"error|fail", low):
        return _Metric("http_req_failed", "rate", "%")
    if re.search(r"success|pass rate|checks", low):
        return _Metric("checks", "rate", "%")
    if re.search(r"recover", low):
        return _Metric("recovery_time", "value", "s")
    if re.search(r"timeouts?", low):
        return _Metric("connection_timeouts", "count")
    return None


def _seconds_per(unit: str) -> float | None:
    """Seconds in one ``unit`` of time as _COMPARISON reads it (None: no unit of time)."""
    if unit == "ms" or unit.startswith("milli"):
        return 0.001
    if unit.startswith("s"):
        return 1
    if unit.startswith("m"):
        return 60
    return None


def _number(num: str, unit: str, metric: _Metric) -> str | None:
    """The threshold's number in the metric's own unit; a bare number is taken as already in it
    (a fraction or a percentage for a rate: 0.01 and 1 both mean 1%)."""
    value = float(num.replace(",", "."))
    unit = (unit or "").lower()
    if metric.unit == "%":
        if unit in ("%", "percent") or value > 1:
            value /= 100
    elif unit in ("%", "percent"):
        return None  # a percentage of a time or a count names no bound we can check
    elif metric.unit in ("ms", "s") and (seconds := _seconds_per(unit)) is not None:
        value *= seconds * (1000 if metric.unit == "ms" else 1)
    return f"{value:.6g}"


def _test_in(text: str) -> tuple[str, str] | None:
    for key, title, pattern in _TESTS:
        if re.search(rf"\b{pattern}\b", text, re.I):
            return key, title
    return None


def _label_test(label: str) -> tuple[str, str]:
    known = _test_in(label)
    if known:
        return known
    key = _slug(re.sub(r"\b(load|tests?)\b", " ", label, flags=re.I)) or _slug(label)
    return key, label.strip()


@dataclass
class _Check:
    """One line read as a success criterion (metric when the test and metric are named)."""

    title: str
    test: tuple[str, str] | None = None
    metric: str = ""
    threshold: str = ""
    unit: str = ""
    stated: str = ""  # the comparison as written, for a manual criterion's description


def _checks_of(text: str, context_test: tuple[str, str] | None) -> list[_Check]:
    """'Baseline: p95 < 200ms, errors < 1%' -> two checks; 'No connection timeouts' -> one."""
    text = _strip_marks(text)
    label, rest = "", text
    if (m := _LABEL.match(text)) and _metric_of(m["label"]) is None:
        label, rest = m["label"], m["rest"]
    parts = [p.strip() for p in re.split(r",\s*|;\s*", rest) if p.strip()]
    if len(parts) > 1 and not all(_COMPARISON.search(p) for p in parts):
        parts = [rest]
    test = _label_test(label) if label else _test_in(rest) or context_test
    checks = []
    for part in parts:
        title = f"{label}: {part}" if label and len(parts) > 1 else text
        checks.append(_check(title, part, test))
    return checks


def _check(title: str, words: str, test) -> _Check:
    no = re.match(r"^(?:no|zero|0)\s+(.+)$", words, re.I)
    m = _COMPARISON.search(words)
    if no and (metric := _metric_of(no[1])) and metric.aggregate == "count":
        return _Check(title, test, metric.metric, "count==0") if test else _Check(title)
    if not m:
        return _Check(title)
    metric = _metric_of(words[: m.start()] + " " + words[m.end() :])
    op = next(op for op, alt in _OPS if re.fullmatch(alt, m["op"], re.I))
    stated = f"{op} {m['num']}{m['unit'] or ''}"
    if metric is None or test is None:
        return _Check(title, stated=stated)
    number = _number(m["num"], m["unit"], metric)
    if number is None:
        return _Check(title, stated=stated)
    unit = "s" if metric.unit == "s" else ""
    return _Check(title, test, metric.metric, f"{metric.aggregate}{op}{number}", unit)


# --- the reader --------------------------------------------------------------------------------
_TASK_COLUMNS = (
    ("title", r"task|step|title|name|what|activity|action|item"),
    ("minutes", r"duration|est|estimate|time|effort|minutes|hours|length"),
    ("priority", r"priority|prio|severity|importance"),
    ("status", r"status|state|done|progress"),
    ("depends", r"depends|after|needs|requires|prerequisites?|blocked by"),
    ("owner", r"owner|who|assignee|responsible|lead"),
)
_RISK_COLUMNS = (
    ("title", r"risk|threat|issue|hazard"),
    ("before", r"before|current|now|initial"),
    ("after", r"after|residual|target|expected"),
    ("level", r"level|severity|rating|impact"),
    ("mitigation", r"mitigation|mitigations|action|fix|response|plan"),
)
_CRITERIA_HEADING = re.compile(
    r"criteria|checklist|validat|verif|success|acceptance|threshold|slo", re.I
)
_SUMMARY_HEADING = re.compile(r"summary|issue|problem|overview|background|context", re.I)
_NEXT_HEADING = re.compile(r"next steps|after (?:launch|go-?live|completion)|follow[- ]up", re.I)
_TARGET = re.compile(
    r"^(?:production launch|launch date|launch|go[- ]?live(?: date)?|target launch|release date|"
    r"ship date|launch day)\s*:?\s*(?P<date>\d{4}-\d{2}-\d{2})(?:[ T](?P<time>\d{1,2}:\d{2}))?",
    re.I,
)
_STEP = re.compile(r"^(?:step\s+)?(?P<n>\d+)[.):]\s*(?P<rest>.+)$", re.I)
_CHECKBOX = re.compile(r"^\[(?P<x>[ xX])\]\s*(?P<rest>.*)$")
_SIGNOFF = re.compile(
    r"^(?P<role>[A-Za-z][\w &/-]{0,30}?)\s+(?:approval|sign-?off|approves)$", re.I
)
_CHECK_LINE = re.compile(r"^[#/\s-]*(?:✅|✔|☑|\[[ xX]\])\s*(?P<rest>.+)$")


def _all_checks(code: str) -> bool:
    lines = [ln for ln in code.split("\n") if ln.strip()]
    return bool(lines) and all(_CHECK_LINE.match(ln) for ln in lines)


def _columns(header: list[str], table) -> dict[str, int]:
    found: dict[str, int] = {}
    for index, cell in enumerate(header):
        for name, pattern in table:
            if name not in found and re.search(rf"\b(?:{pattern})\b", cell, re.I):
                found[name] = index
                break
    return found


@dataclass
class _Task:
    line: int
    title: str
    minutes: int
    priority: str | None
    status: str | None
    depends: list[str] = field(default_factory=list)
    runbook: list[str] = field(default_factory=list)
    key: str = ""


@dataclass
class _Step:
    line: int
    title: str
    heading: str  # the heading as written
    section: str  # the enclosing section's heading
    minutes: int | None
    priority: str | None
    status: str | None
    runbook: list[str] = field(default_factory=list)


class _Reader:
    def __init__(self, blocks: list[_Block]):
        self.blocks = blocks
        self.name, self.name_line, self.target = "", 0, None
        self.tasks: list[_Task] = []
        self.steps: list[_Step] = []
        self.checks: list[tuple[int, int, _Check, bool]] = []  # rank, line, check, ticked
        self.risks: list[RiskSpec] = []
        self.tree: list[dict] = []
        self.signoffs: dict[str, str] = {}
        self.summary: list[str] = []
        self.next_steps: list[dict] = []
        self.skipped: list[Skipped] = []
        self.headings: dict[int, str] = {}
        self.step: _Step | None = None
        self.step_level = 0

    # context -----------------------------------------------------------------------------------
    def heading_text(self) -> str:
        return " / ".join(self.headings[k] for k in sorted(self.headings))

    def context_test(self):
        for level in sorted(self.headings, reverse=True):
            if found := _test_in(self.headings[level]):
                return found
        return None

    def skip(self, block_line: int, reason: str, text: str = ""):
        self.skipped.append(Skipped(block_line, reason, text))

    # walking -----------------------------------------------------------------------------------
    def read(self):
        for index, block in enumerate(self.blocks):
            getattr(self, f"on_{block.kind}")(block, index)

    def on_heading(self, b: _Block, index: int):
        if b.level == 1 and not self.name:
            self.name, self.name_line = _strip_marks(b.text), b.line
        for level in [lv for lv in self.headings if lv >= b.level]:
            del self.headings[level]
        self.headings[b.level] = b.text
        if self.step and b.level <= self.step_level:
            self.step = None
        if b.level > 1 and (m := _STEP.match(b.text)):
            self.step = self.read_step(b, m["rest"])
            self.step_level = b.level
            self.steps.append(self.step)

    def read_step(self, b: _Block, rest: str) -> _Step:
        meta = " ".join(re.findall(r"\(([^()]*)\)", rest))
        title = _strip_marks(re.sub(r"\([^()]*\)", "", rest))
        title = re.sub(r"\s+(?:COMPLETED|DONE|BLOCKED|IN PROGRESS)$", "", title).strip()
        tail = re.match(r"^(?P<head>.+?)\s[\u2014\u2013-]\s(?P<tail>[^\u2014\u2013]+)$", title)
        if tail and (_pick(tail["tail"], _PRIORITIES) or _pick(tail["tail"], _STATUSES)):
            title = tail["head"].strip()  # "Migrate — critical": the priority, not the title
        section = next((self.headings[lv] for lv in sorted(self.headings) if 1 < lv < b.level), "")
        return _Step(
            b.line,
            title,
            b.text,
            section,
            _minutes(meta),
            _pick(rest, _PRIORITIES),
            _pick(rest.replace(title, ""), _STATUSES),
        )

    def on_fence(self, b: _Block, index: int):
        if self.is_tree(b):
            self.read_tree(b)
            return
        lines = b.text.rstrip("\n").split("\n")
        checks = [(n, m["rest"]) for n, raw in enumerate(lines) if (m := _CHECK_LINE.match(raw))]
        for n, rest in checks:
            for check in _checks_of(rest, self.context_test()):
                labelled = bool(_LABEL.match(_strip_marks(rest)))
                self.checks.append((2 if labelled else 1, b.line + 1 + n, check, False))
        if self.step and not _all_checks(b.text):
            self.step.runbook.append(b.text.rstrip("\n"))

    def is_tree(self, b: _Block) -> bool:
        boxes = re.search(r"[├└]─", b.text) and re.search(r"\bGO\b", b.text)
        return bool(boxes or (re.search(r"decision", self.heading_text(), re.I) and "→" in b.text))

    def read_tree(self, b: _Block):
        for n, raw in enumerate(b.text.split("\n")):
            branch = re.search(r"[├└]─+\s*(?P<rest>.+)$", raw)
            if branch:
                self.tree.append(
                    {"branch": branch["rest"], "col": branch.start(), "line": b.line + 1 + n}
                )
            elif "[" in raw:
                self.tree.append(
                    {
                        "box": raw[raw.index("[") :].strip(),
                        "col": raw.index("["),
                        "line": b.line + 1 + n,
                    }
                )

    def on_table(self, b: _Block, index: int):
        header, rows = b.rows[0][1], b.rows[1:]
        risk_cols = _columns(header, _RISK_COLUMNS)
        task_cols = _columns(header, _TASK_COLUMNS)
        if (
            "title" in risk_cols
            and ({"before", "after"} <= set(risk_cols) or "level" in risk_cols)
            and re.search(r"risk", " ".join(header), re.I)
        ):
            for line, cells in rows:
                self.read_risk(line, cells, risk_cols)
        elif "title" in task_cols and ({"minutes", "priority", "status"} & set(task_cols)):
            for line, cells in rows:
                self.read_task_row(line, cells, task_cols)
        else:
            what = ", ".join(header)
            for line, cells in rows:
                self.skip(
                    line, f"a table the importer does not know (columns: {what})", " | ".join(cells)
                )

    def read_task_row(self, line: int, cells: list[str], cols: dict[str, int]):
        def cell(name):
            return cells[cols[name]] if name in cols and cols[name] < len(cells) else ""

        title = _strip_marks(cell("title"))
        minutes = _minutes(cell("minutes"))
        if not title or minutes is None:
            self.skip(
                line,
                "a timeline row without a task or a duration: not made a task",
                " | ".join(cells),
            )
            return
        depends = [
            d.strip() for d in re.split(r",|;| and ", cell("depends")) if d.strip(" -\u2014\u2013")
        ]
        self.tasks.append(
            _Task(
                line,
                title,
                minutes,
                _pick(cell("priority"), _PRIORITIES),
                _pick(cell("status"), _STATUSES),
                depends,
            )
        )

    def read_risk(self, line: int, cells: list[str], cols: dict[str, int]):
        def cell(name):
            return cells[cols[name]] if name in cols and cols[name] < len(cells) else ""

        before = cell("before") or cell("level")
        after = cell("after") or cell("level")
        levels = (_pick(before, _LEVELS), _pick(after, _LEVELS))
        title = _strip_marks(cell("title"))
        if not title or None in levels:
            self.skip(
                line, "a risk row without a level (🔴/🟡/🟢 or high/medium/low)", " | ".join(cells)
            )
            return
        values = [
            _strip_marks(re.sub(r"(?i)\b(high|medium|med|low|critical)\b", "", v))
            for v in (before, after)
        ]
        self.risks.append(
            RiskSpec(
                key=_slug(title),
                title=title,
                before_level=levels[0],
                after_level=levels[1],
                before_value=values[0] if cell("before") else "",
                after_value=values[1] if cell("after") else "",
                mitigation=_strip_marks(cell("mitigation")),
            )
        )

    def on_line(self, b: _Block, index: int):
        text = b.text.strip()
        if not text or re.fullmatch(r"[-*_=|:\s]+", text):
            return
        for reader in (
            self.line_target,
            self.line_total,
            self.line_next_step,
            self.line_checkbox,
            self.line_task_bullet,
            self.line_threshold,
            self.line_summary,
            self.line_caption,
            self.line_manual_check,
        ):
            if reader(b, text, index):
                return
        reason = "a list item that is not a task, check or step" if b.level else "prose"
        self.skip(b.line, f"{reason}: not plan data", text)

    # one reader per kind of line: True when the line produced something (or was reported)
    def line_target(self, b, text, index) -> bool:
        m = _TARGET.match(_strip_marks(text))
        if not m:
            return False
        hour, minute = (int(x) for x in (m["time"] or "00:00").split(":"))
        day = datetime.fromisoformat(m["date"])
        self.target = day.replace(hour=hour, minute=minute, tzinfo=UTC)
        return True

    def line_total(self, b, text, index) -> bool:
        plain = _strip_marks(text)
        if re.match(r"^(?:total|overall)\b.*\b(?:time|duration|effort|estimate)\b", plain, re.I):
            self.skip(b.line, "a total: computed from the tasks, not copied", text)
            return True
        if re.match(r"^overall risk\b", plain, re.I):
            self.skip(b.line, "an overall risk: computed from the risks, not copied", text)
            return True
        if re.match(r"^timeline\b.*\bremaining\b", plain, re.I):
            self.skip(b.line, "time remaining: computed from the tasks, not copied", text)
            return True
        return False

    def line_next_step(self, b, text, index) -> bool:
        if not b.level or not _NEXT_HEADING.search(self.heading_text()):
            return False
        words = _strip_marks(text)
        if b.level > 1 and (signoff := _SIGNOFF.match(words)):
            self.signoffs.setdefault(_slug(signoff["role"]), signoff["role"].strip())
        if b.level == 1 and b.item:
            self.next_steps.append({"title": words, "items": []})
        elif self.next_steps and b.item:
            self.next_steps[-1]["items"].append(words)
        else:
            return False
        return True

    def line_checkbox(self, b, text, index) -> bool:
        m = _CHECKBOX.match(text) if b.item else None
        if not m:
            return False
        if self.line_task_bullet(b, m["rest"], index, status="done" if m["x"] != " " else None):
            return True
        for check in _checks_of(m["rest"], self.context_test()):
            self.checks.append((0, b.line, check, m["x"] != " "))
        return True

    def line_task_bullet(self, b, text, index, status=None) -> bool:
        if not b.item:
            return False
        m = re.match(
            r"^(?P<title>.+?)\s*(?:\((?P<meta>[^()]+)\)|\s[\u2014\u2013-]\s(?P<meta2>[^\u2014\u2013]+))$",
            text,
        )
        if not m:
            return False
        parts = [p.strip() for p in re.split(r",|;|\||/", m["meta"] or m["meta2"]) if p.strip()]
        minutes, priority, depends = None, None, []
        for part in parts:
            if _is_duration(part):
                minutes = _minutes(part)
            elif (p := _pick(part, _PRIORITIES)) and len(part.split()) <= 2:
                priority = p
            elif (s := _pick(part, _STATUSES)) and len(part.split()) <= 2:
                status = s
            elif after := re.match(r"^(?:after|depends on|needs)\s+(.+)$", part, re.I):
                depends.append(after[1])
            elif not re.match(r"^(?:owner\s*:?\s*|@)\S+", part, re.I):
                return False
        if minutes is None:
            return False
        self.tasks.append(
            _Task(b.line, _strip_marks(m["title"]), minutes, priority, status, depends)
        )
        return True

    def line_threshold(self, b, text, index) -> bool:
        if not (b.item or _CRITERIA_HEADING.search(self.heading_text())):
            return False
        checks = _checks_of(text, self.context_test())
        if not any(c.threshold for c in checks):
            return False
        rank = 1 if re.search(r"validat", self.heading_text(), re.I) else 0
        for check in checks:
            self.checks.append((rank, b.line, check, False))
        return True

    def line_summary(self, b, text, index) -> bool:
        m = re.match(
            r"^(?P<label>problem|impact|root cause|goal|scope|issue)\s*:\s*(?P<rest>.+)$",
            text,
            re.I,
        )
        if m or (not b.level and _SUMMARY_HEADING.search(self.headings.get(2, ""))):
            self.summary.append(f"{m['label']}: {m['rest']}" if m else text)
            return True
        return False

    def line_caption(self, b, text, index) -> bool:
        """'**Verification**:' just above a step's code block: a caption of its runbook."""
        following = self.blocks[index + 1] if index + 1 < len(self.blocks) else None
        if not (self.step and text.endswith(":") and following and following.kind == "fence"):
            return False
        if self.is_tree(following):
            return False
        if not _all_checks(following.text):  # a list of checks is read as criteria instead
            self.step.runbook.append(f"# {text}")
        return True

    def line_manual_check(self, b, text, index) -> bool:
        if not b.item or not _CRITERIA_HEADING.search(self.heading_text()):
            return False
        rank = 1 if re.search(r"validat", self.heading_text(), re.I) else 0
        for check in _checks_of(text, self.context_test()):
            self.checks.append((rank, b.line, check, False))
        return True


# --- assembling the plan -----------------------------------------------------------------------
def _attach_steps(r: _Reader) -> None:
    """Each numbered step to the timeline row it describes (by title), else to the row of its
    section; a step that matches none becomes a task when it says how long it takes."""
    pairs = sorted(
        (
            (_similarity(s.title, t.title), si, ti)
            for si, s in enumerate(r.steps)
            for ti, t in enumerate(r.tasks)
        ),
        reverse=True,
    )
    owner: dict[int, _Task] = {}
    used: set[int] = set()
    for score, si, ti in pairs:
        if score >= 0.5 and si not in owner and ti not in used:
            owner[si] = r.tasks[ti]
            used.add(ti)
    for si, step in enumerate(r.steps):
        task = owner.get(si) or _section_task(r.tasks, step)
        if task is None and step.minutes:
            task = _Task(step.line, step.title, step.minutes, step.priority, step.status)
            r.tasks.append(task)
        if task is None:
            r.skip(
                step.line,
                "a step with no duration and no timeline row: not made a task",
                step.heading,
            )
            continue
        task.runbook.append(
            f"# {'' if step.heading.lower().startswith('step') else 'Step '}{step.heading}"
        )
        task.runbook.extend(step.runbook)
        task.priority = task.priority or step.priority
        task.status = task.status or step.status


def _section_task(tasks: list[_Task], step: _Step) -> _Task | None:
    title = _strip_marks(re.sub(r"\([^()]*\)", "", step.section))
    scored = [(_similarity(title, t.title), t) for t in tasks] if title else []
    best = max(scored, key=lambda st: st[0], default=(0, None))
    return best[1] if best[0] >= 0.5 else None


def _task_specs(r: _Reader) -> tuple[TaskSpec, ...]:
    taken: set[str] = set()
    for t in r.tasks:
        t.key = _unique(_slug(t.title), taken)
    specs = []
    for t in r.tasks:
        depends = []
        for name in t.depends:
            match = max(r.tasks, key=lambda o, name=name: _similarity(name, o.title))
            if match is not t and _similarity(name, match.title) >= 0.5:
                depends.append(match.key)
            else:
                r.skip(t.line, f"depends on {name!r}, which names no task of the plan")
        specs.append(
            TaskSpec(
                key=t.key,
                title=t.title,
                priority=t.priority or "high",
                estimate_minutes=t.minutes,
                status=t.status or "pending",
                depends_on=tuple(dict.fromkeys(depends)),
                runbook="\n\n".join(t.runbook),
            )
        )
    return tuple(specs)


def _criteria_specs(r: _Reader) -> tuple[tuple[CriterionSpec, ...], tuple[LoadTestSpec, ...]]:
    """Checks in order of where they were said (checklist, validation, suite); a check said
    again (the same test, metric and threshold, or the same words) is the first one."""
    seen: dict = {}
    tests: dict[str, str] = {}
    taken: set[str] = set()
    specs = []
    for rank, _line, check, ticked in sorted(r.checks, key=lambda c: (c[0], c[1])):
        same = (
            (check.test[0], check.metric, check.threshold)
            if check.threshold
            else check.title.lower()
        )
        if same in seen:
            continue
        seen[same] = True
        section = ("checklist", "validation", "suite")[rank]
        words = _COMPARISON.split(check.title)[0] if check.threshold else ""
        key = _unique(_slug(words if re.search(r"[a-z0-9]", words, re.I) else check.title), taken)
        if check.threshold:
            tests.setdefault(*check.test)
            specs.append(
                CriterionSpec(
                    key=key,
                    title=check.title,
                    kind="metric",
                    section=section,
                    test=check.test[0],
                    metric=check.metric,
                    threshold=check.threshold,
                    unit=check.unit,
                )
            )
        else:
            description = (
                f"As written: {check.stated} (no test or metric named)" if check.stated else ""
            )
            specs.append(
                CriterionSpec(
                    key=key,
                    title=check.title,
                    kind="manual",
                    section=section,
                    checked=ticked,
                    description=description,
                )
            )
    load_tests = tuple(LoadTestSpec(key=k, title=t) for k, t in tests.items())
    return tuple(specs), load_tests


def _gates(r: _Reader, tasks: tuple[TaskSpec, ...]) -> tuple[GateSpec, ...]:
    gates: list[dict] = []
    for node in r.tree:
        if "box" in node:
            parts = [_strip_marks(p.strip(" []")) for p in node["box"].split("→")]
            requires = []
            for part in parts:
                best = max(tasks, key=lambda t, part=part: _similarity(part, t.title), default=None)
                if best and _similarity(part, best.title) >= 0.5 and best.key not in requires:
                    requires.append(best.key)
            gates.append({"title": " → ".join(parts), "col": node["col"], "tasks": requires})
            continue
        owner = next((g for g in reversed(gates) if g["col"] < node["col"]), None)
        if owner is None or "→" not in node["branch"]:
            continue
        condition, outcome = (s.strip() for s in node["branch"].split("→", 1))
        label = "fail" if re.search(r"fail|no\b", condition, re.I) else "pass"
        owner.setdefault(label, _strip_marks(_plain(outcome)))
    taken: set[str] = set()
    specs = []
    for n, g in enumerate(gates):
        following = gates[n + 1]["title"] if n + 1 < len(gates) else "GO"
        specs.append(
            GateSpec(
                key=_unique(_slug(g["title"]), taken),
                title=g["title"],
                requires_tasks=tuple(g["tasks"]),
                pass_label=g.get("pass", following),
                fail_label=g.get("fail", "NO GO"),
            )
        )
    return tuple(specs)


def markdown_text(data: bytes, path: str = "<markdown>") -> str:
    """The text of an uploaded or read file, or ``NotAPlan`` saying plainly why not."""
    if b"\x00" in data[:8192]:
        raise NotAPlan(f"{path}: a binary file, not markdown text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise NotAPlan(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    if not text.strip():
        raise NotAPlan(f"{path}: the file is empty")
    return text


def markdown_draft(text: str, path: str = "<markdown>", slug: str = "") -> Draft:
    """The plan a markdown action plan describes, as YAML for review, and the lines it skipped.
    Raises ``NotAPlan`` when there is nothing plan-like (no task, criterion or risk)."""
    r = _Reader(_blocks(text))
    r.read()
    _attach_steps(r)
    tasks = _task_specs(r)
    criteria, load_tests = _criteria_specs(r)
    if not (tasks or criteria or r.risks):
        raise NotAPlan(f"{path}: no task, checklist, threshold or risk found: nothing to draft")
    name = r.name or "Imported launch plan"
    launch = LaunchSpec(
        slug=slug or _launch_slug(name),
        name=name,
        summary="\n".join(r.summary),
        target_at=r.target,
        next_steps=r.next_steps,
    )
    plan = PlanSpec(
        launch=launch,
        tasks=tasks,
        load_tests=load_tests,
        criteria=criteria,
        risks=_unique_keys(r.risks),
        gates=_gates(r, tasks),
        signoffs=tuple(SignOffRoleSpec(key=k, title=t) for k, t in r.signoffs.items()),
    )
    header = f"# DRAFT from {path}: review it, then import it (import_plan or the web page).\n"
    yaml_text = header + dump_plan(plan)
    try:  # the draft must be a plan the loader takes as it is
        plan = load_plan(yaml_text, path)
    except PlanError as exc:
        # e.g. a --slug the loader refuses: said like any other input it cannot draft (the
        # command and the page show NotAPlan's message; a RuntimeError was a traceback, a 500)
        raise NotAPlan(f"the draft of {path} does not load: {exc}") from exc
    return Draft(plan, yaml_text, tuple(sorted(r.skipped, key=lambda s: s.line)))


def _unique_keys(risks: list[RiskSpec]) -> tuple[RiskSpec, ...]:
    taken: set[str] = set()
    out = []
    for risk in risks:
        key = _unique(risk.key, taken)
        out.append(risk if key == risk.key else RiskSpec(**{**risk.__dict__, "key": key}))
    return tuple(out)
