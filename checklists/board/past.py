"""The board as it was: a past version's readiness JSON, and what changed between two versions
in words (criteria, tasks, verdict, blockers, sign-offs, risks, runs)."""

from __future__ import annotations

import orjson

from checklists.board import sections
from checklists.core import history


def readiness_at(launch, version: int) -> dict:
    """The readiness JSON of ``version`` (the current one as served, a past one rebuilt)."""
    if version == launch.version:
        return orjson.loads(sections.current(launch.pk, version=version).api)
    body, _ = sections.past_json(launch, version)
    return orjson.loads(body)


def _by_key(items: list[dict], key: str = "key") -> dict[str, dict]:
    return {item[key]: item for item in items}


def _change(part, key, before, after, text) -> dict:
    return {"part": part, "key": key, "before": before, "after": after, "text": text}


def changes(launch, older: int, newer: int) -> list[dict]:
    """What changed from version ``older`` to ``newer``, each with a sentence."""
    if newer == launch.version:
        history.ensure_current(launch.pk)
    a, b = readiness_at(launch, older), readiness_at(launch, newer)
    found = []
    if a["verdict"] != b["verdict"]:
        found.append(
            _change(
                "verdict",
                "",
                a["verdict"],
                b["verdict"],
                f"Verdict {a['verdict']} → {b['verdict']}",
            )
        )
    for part, items, field in (
        ("criterion", "criteria", "status"),
        ("task", "tasks", "status"),
    ):
        was, now = _by_key(a[items]), _by_key(b[items])
        for key in [*now, *(k for k in was if k not in now)]:
            old, new = was.get(key), now.get(key)
            title = (new or old)["title"]
            if old is None:
                found.append(_change(part, key, None, new[field], f"{title}: added ({new[field]})"))
            elif new is None:
                found.append(_change(part, key, old[field], None, f"{title}: removed"))
            elif old[field] != new[field]:
                found.append(
                    _change(
                        part, key, old[field], new[field], f"{title}: {old[field]} → {new[field]}"
                    )
                )
            elif part == "criterion" and old["observed_text"] != new["observed_text"]:
                found.append(
                    _change(
                        part,
                        key,
                        old["observed_text"],
                        new["observed_text"],
                        f"{title}: {old['observed_text'] or 'no value'} → "
                        f"{new['observed_text'] or 'no value'} (still {new[field]})",
                    )
                )
    was, now = _by_key(a["signoffs"], "role"), _by_key(b["signoffs"], "role")
    for role, new in now.items():
        old = was.get(role)
        if old is None or (old["status"], old["by"]) != (new["status"], new["by"]):
            by = f" by {new['by']}" if new["by"] else ""
            found.append(
                _change(
                    "signoff",
                    role,
                    old and old["status"],
                    new["status"],
                    f"{new['title']} sign-off: {old['status'] if old else 'none'} → "
                    f"{new['status']}{by}",
                )
            )
    was, now = _by_key(a["risks"]), _by_key(b["risks"])
    for key, new in now.items():
        old = was.get(key)
        if old and old["current"]["level"] != new["current"]["level"]:
            found.append(
                _change(
                    "risk",
                    key,
                    old["current"]["level"],
                    new["current"]["level"],
                    f"Risk {new['title']}: {old['current']['level']} → {new['current']['level']}",
                )
            )
    runs_a, runs_b = (
        history.inputs_at(launch.pk, older).runs,
        history.inputs_at(launch.pk, newer).runs,
    )
    for test in sorted(set(runs_a) | set(runs_b)):
        if runs_a.get(test) != runs_b.get(test):
            found.append(
                _change(
                    "run",
                    test,
                    runs_a.get(test),
                    runs_b.get(test),
                    f"The {test} test: a new run is its evidence",
                )
            )
    for blocker in b["blockers"]:
        if blocker not in a["blockers"]:
            found.append(_change("blocker", "", None, blocker, f"New blocker: {blocker}"))
    for blocker in a["blockers"]:
        if blocker not in b["blockers"]:
            found.append(_change("blocker", "", blocker, None, f"Cleared: {blocker}"))
    return found
