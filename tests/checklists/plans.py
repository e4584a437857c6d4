"""Plans generated for tests (sizes, shapes) as YAML text."""

from __future__ import annotations

import yaml


def sized_plan(n: int, slug: str = "sized") -> str:
    """A valid plan with ``n`` tasks, ``n`` criteria (half manual, half metric), ``n`` risks,
    a gate per 10 criteria, a load test per 10 metric criteria and three sign-off roles."""
    tasks = [
        {
            "key": f"t{i}",
            "title": f"Task {i}",
            "priority": ["critical", "high", "optional"][i % 3],
            "estimate": f"{5 + i % 50}m",
            **({"depends_on": [f"t{i - 1}"]} if i else {}),
        }
        for i in range(n)
    ]
    tests = [{"key": f"lt{i}", "title": f"Load test {i}"} for i in range(max(1, n // 10))]
    criteria = []
    for i in range(n):
        c = {"key": f"c{i}", "title": f"Criterion {i}"}
        if i % 2:
            c |= {
                "test": f"lt{i % len(tests)}",
                "metric": "http_req_failed",
                "threshold": "rate<0.01",
                "after": f"t{i % n}",
            }
        criteria.append(c)
    risks = [
        {
            "key": f"r{i}",
            "title": f"Risk {i}",
            "before": "high",
            "after": "low",
            "measured_by": [f"c{i}"],
        }
        for i in range(n)
    ]
    gates = [
        {
            "key": f"g{i}",
            "title": f"Gate {i}",
            "requires_criteria": [f"c{j}" for j in range(i * 10, min(n, i * 10 + 10))],
            "requires_tasks": [f"t{i}"],
        }
        for i in range(max(1, n // 10))
    ]
    plan = {
        "launch": {"slug": slug, "name": f"Sized {n}", "visibility": "public"},
        "tasks": tasks,
        "load_tests": tests,
        "criteria": criteria,
        "risks": risks,
        "decision": gates,
        "signoffs": [{"role": r, "title": r.upper()} for r in ("cto", "devops", "security")],
    }
    return yaml.safe_dump(plan, sort_keys=False)
