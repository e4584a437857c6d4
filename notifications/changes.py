"""PURE: what changed between two readiness states, in sentences a stakeholder understands.

A state is ``checklists.core.services.readiness_state``'s dict ({"verdict", "criteria",
"signoffs"}, and after go-live an optional "watch": {"phase", "fired", "reason"}). No Django, no
I/O: the services hand in the launch's names and figures.
"""

from __future__ import annotations

from dataclasses import dataclass, field

VERDICT_WORDS = {"GO": "GO", "NO_GO": "NO GO", "PENDING": "PENDING"}
FAILING_CRITERION = ("fail", "stale")
FAILING_SIGNOFF = ("rejected",)  # a stale one is asked for again: not a failure


@dataclass(frozen=True)
class Names:
    """What the messages name: the launch, its criteria's titles, the live source each criterion
    reads (its title), what was observed (e.g. "485 ms"), the required criteria, the page."""

    launch: str
    url: str = ""
    titles: dict = field(default_factory=dict)
    sources: dict = field(default_factory=dict)
    observed: dict = field(default_factory=dict)
    required: frozenset = frozenset()


@dataclass(frozen=True)
class Notice:
    kind: str  # "change" | "resolved" | "reminder"
    title: str
    lines: tuple[str, ...]
    events: tuple[dict, ...]

    @property
    def text(self) -> str:
        return "\n".join((self.title, *self.lines))


def failing(state: dict | None) -> list[str]:
    """What is failing now, as keys: "criterion:K", "signoff:R", "rollback"."""
    state = state or {}
    keys = [
        f"criterion:{k}" for k, s in state.get("criteria", {}).items() if s in FAILING_CRITERION
    ]
    keys += [f"signoff:{r}" for r, s in state.get("signoffs", {}).items() if s in FAILING_SIGNOFF]
    if _rolling_back(state):
        keys.append("rollback")
    return keys


def _rolling_back(state: dict) -> bool:
    """A fired rollback trigger not yet acted on (after the rollback, or before going live, a
    trigger still failing is not news)."""
    watch = state.get("watch") or {}
    phase = watch.get("phase")
    return phase == "rollback" or (bool(watch.get("fired")) and phase == "live")


def _word(verdict) -> str:
    return VERDICT_WORDS.get(verdict, str(verdict))


def _criterion(key: str, was: str, now: str, names: Names) -> dict:
    title = names.titles.get(key, key)
    observed = names.observed.get(key)
    text = f"{title}: {was} → {now}" + (f" ({observed})" if observed and now != "stale" else "")
    kind = "criterion"
    if now == "stale" and names.sources.get(key):
        kind = "source.stale"
        text = f"Live source {names.sources[key]} went stale: {title} is {was} → stale"
    return {"type": kind, "key": key, "from": was, "to": now, "text": text}


def _signoff(role: str, was: str | None, now: str) -> dict:
    if now == "pending" and was in (None, "approved", "rejected", "stale"):
        kind, text = "signoff.requested", f"{role} sign-off requested"
    elif now == "stale":
        kind, text = "signoff.stale", f"{role} sign-off went stale (the evidence changed since)"
    else:
        kind, text = "signoff", f"{role} sign-off: {was} → {now}"
    return {"type": kind, "key": role, "from": was, "to": now, "text": text}


PHASE_NEWS = {
    "live": "Went live",
    "rolled_back": "Rolled back",
    "complete": "Watch complete, all clear",
}


def _watch(before: dict, after: dict) -> list[dict]:
    was, now = _rolling_back(before), _rolling_back(after)
    watch, old = after.get("watch") or {}, before.get("watch") or {}
    phase = watch.get("phase", "")
    if now and not was:
        reason = watch.get("reason") or ", ".join(watch.get("fired") or []) or "a trigger fired"
        return [{"type": "rollback.fired", "key": "rollback", "text": f"ROLL BACK: {reason}"}]
    if was and not now:
        text = "Rollback trigger cleared" + (f" ({phase.replace('_', ' ')})" if phase else "")
        return [{"type": "rollback.cleared", "key": "rollback", "text": text}]
    if old.get("phase") and phase != old["phase"] and phase in PHASE_NEWS:
        return [{"type": "watch", "key": phase, "text": PHASE_NEWS[phase]}]
    if phase == "live" == old.get("phase") and watch.get("stage") != old.get("stage"):
        stage = watch.get("stage")
        return [{"type": "watch.stage", "key": stage, "text": f"Ramp-up: now at stage {stage}"}]
    return []


def events(before: dict | None, after: dict, names: Names) -> list[dict]:
    """Each change of status between the two states (a new criterion or role counts only as a
    requested sign-off: a plan import is not news)."""
    before = before or {}
    found = []
    if before.get("verdict") and before["verdict"] != after.get("verdict"):
        text = f"verdict {_word(before['verdict'])} → {_word(after.get('verdict'))}"
        found.append(
            {"type": "verdict", "from": before["verdict"], "to": after.get("verdict"), "text": text}
        )
    old = before.get("criteria", {})
    for key, now in after.get("criteria", {}).items():
        if old.get(key) and old[key] != now:
            found.append(_criterion(key, old[key], now, names))
    old = before.get("signoffs", {})
    for role, now in after.get("signoffs", {}).items():
        if old.get(role) != now and (role in old or now == "pending"):
            found.append(_signoff(role, old.get(role), now))
    return found + _watch(before, after)


def _summary(after: dict, names: Names) -> str:
    criteria = after.get("criteria", {})
    required = [k for k in criteria if k in names.required] or list(criteria)
    bad = [names.titles.get(k, k) for k in required if criteria[k] in FAILING_CRITERION]
    if after.get("verdict") == "GO":
        return f"All {len(required)} required criteria pass."
    if bad:
        shown = ", ".join(bad[:3]) + (f" and {len(bad) - 3} more" if len(bad) > 3 else "")
        return f"{len(bad)} of {len(required)} required criteria fail: {shown}."
    return ""


def notice(before: dict | None, after: dict, names: Names) -> Notice | None:
    """One message for the net change from ``before`` (what was last told) to ``after``; None
    when nothing a person would notice changed."""
    found = events(before, after, names)
    if not found:
        return None
    was_failing, now_failing = failing(before), failing(after)
    kind = "resolved" if was_failing and not now_failing else "change"
    if kind == "resolved":
        found.append({"type": "all_clear", "text": "All clear: nothing is failing any more"})
    head = next((e for e in found if e["type"] in ("rollback.fired", "verdict")), found[0])
    if kind == "resolved" and head["type"] != "verdict":
        head = found[-1]
    title = f"{names.launch}: {head['text']}."
    summary = _summary(after, names) if head["type"] == "verdict" else ""
    if summary:
        title += f" {summary}"
    lines = tuple(e["text"] for e in found if e is not head)
    return Notice(kind, title, lines + _link(names), tuple(found))


def reminder(after: dict, names: Names) -> Notice | None:
    """The failing state again (None when nothing fails)."""
    keys = failing(after)
    if not keys:
        return None
    words = []
    for key in keys:
        kind, _, name = key.partition(":")
        words.append(
            names.titles.get(name, name)
            if kind == "criterion"
            else f"{name} sign-off"
            if kind == "signoff"
            else "ROLL BACK"
        )
    title = f"{names.launch}: still failing — {', '.join(words)}."
    event = {"type": "reminder", "failing": keys, "text": title}
    return Notice("reminder", title, _link(names), (event,))


def _link(names: Names) -> tuple[str, ...]:
    return (f"Status: {names.url}",) if names.url else ()
