"""What ``checklists`` may read of the evidence. Each function runs a fixed number of queries,
whatever the size of the plan."""

from __future__ import annotations

from dataclasses import dataclass

from .models import Source

SOURCE_SPEC_FIELDS = ("key", "kind", "title", "config", "interval_seconds", "stale_after_seconds")


@dataclass(frozen=True)
class Want:
    """One metric criterion's request for evidence."""

    key: str
    test: str
    source: str
    metric: str
    aggregate: str
    window_s: int | None
    relative: bool
    params: dict


@dataclass(frozen=True)
class Evidence:
    """The value a criterion is judged on, or why there is none."""

    value: float | None = None
    at: object = None
    complete: bool = True
    baseline: float | None = None
    label: str = ""
    display: str = ""
    why: str = ""
    stale_after_s: int | None = None


def source_specs(launch_id: int) -> list[dict]:
    return list(Source.objects.filter(launch_id=launch_id).values(*SOURCE_SPEC_FIELDS))


def sources_for(launch_id: int) -> list[Source]:
    return list(Source.objects.filter(launch_id=launch_id))


def evidence_for(launch_id: int, wants: list[Want], test_titles: dict[str, str]) -> dict:
    """Evidence per criterion key, from load-test runs and live sources."""
    sources = {s.key: s for s in sources_for(launch_id)}
    result = {}
    for want in wants:
        if want.test:
            title = test_titles.get(want.test, want.test)
            result[want.key] = Evidence(why=f"No {title.lower()} test run has been ingested yet.")
        else:
            source = sources.get(want.source)
            name = source.title if source else want.source
            result[want.key] = Evidence(why=f"{name} has not reported yet.")
    return result
