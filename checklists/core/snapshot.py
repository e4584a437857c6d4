"""What a sign-off approves: a canonical snapshot of the readiness state and its SHA-256.

The snapshot holds each criterion's state and observed value, the content hash of the newest
run of each load test, the state of each live source, and the plan's hash. A sign-off form
carries the hash it showed; the POST is refused if the state changed in between. Live readings
enter as their state only: their exact values move every poll and would turn every approval
into a race, while a change of state (pass to fail, fresh to stale) is what an approver signed.
"""

from __future__ import annotations

import hashlib
import json

from checklists.engine.readiness import Readiness
from metrics import selectors as evidence


def _value(result) -> float | None:
    if result.spec.source or result.observed is None:
        return None
    return round(float(result.observed), 6)


def newest_runs(launch) -> dict[str, str]:
    """{test: content hash of its newest complete run (else its newest run)}."""
    tests = [t.key for t in launch.load_tests.all()]
    return {
        test: next((r.sha256 for r in rs if r.complete), rs[0].sha256)
        for test, rs in evidence.test_runs(launch.pk, tests).items()
    }


def snapshot_of(launch, readiness: Readiness) -> dict:
    """The snapshot of the launch as the database holds it now."""
    sources = {s.key: s.health for s in evidence.sources_for(launch.pk)}
    return snapshot_from(launch.slug, launch.plan_hash, readiness, newest_runs(launch), sources)


def snapshot_from(slug, plan_hash, readiness: Readiness, runs: dict, sources: dict) -> dict:
    """The snapshot of a readiness and the evidence around it (now, or as recorded)."""
    return {
        "launch": slug,
        "plan": plan_hash,
        "criteria": {c.key: c.status for c in readiness.criteria},
        "observed": {c.key: value for c in readiness.criteria if (value := _value(c)) is not None},
        "runs": dict(runs),
        "sources": dict(sources),
    }


def snapshot_hash(snapshot: dict) -> str:
    raw = json.dumps(snapshot, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(raw.encode()).hexdigest()


def differences(before: dict, after: dict) -> list[str]:
    """What changed between two snapshots, in words, for the approver told to look again."""
    lines = []
    for key in sorted(set(before.get("criteria", {})) | set(after.get("criteria", {}))):
        was, now = before.get("criteria", {}).get(key), after.get("criteria", {}).get(key)
        if was != now:
            lines.append(f"{key}: {was or 'absent'} → {now or 'removed'}")
        elif before.get("observed", {}).get(key) != after.get("observed", {}).get(key):
            was, now = before.get("observed", {}).get(key), after.get("observed", {}).get(key)
            lines.append(f"{key}: value {was} → {now}")
    for test in sorted(set(before.get("runs", {})) | set(after.get("runs", {}))):
        if before.get("runs", {}).get(test) != after.get("runs", {}).get(test):
            lines.append(f"{test}: a new run")
    for key in sorted(set(before.get("sources", {})) | set(after.get("sources", {}))):
        if before.get("sources", {}).get(key) != after.get("sources", {}).get(key):
            was, now = before.get("sources", {}).get(key), after.get("sources", {}).get(key)
            lines.append(f"source {key}: {was} → {now}")
    if before.get("plan") != after.get("plan"):
        lines.append("the plan changed")
    return lines
