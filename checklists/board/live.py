"""The live-metrics section: each source's health and each live criterion's series."""

from __future__ import annotations

from checklists.board.charts import live_figure
from metrics import selectors as evidence
from metrics.collectors import window_of


def live_of(launch, readiness) -> list[dict]:
    sources = evidence.sources_for(launch.pk)
    series = evidence.live_series(launch.pk)
    by_source: dict[str, list] = {}
    params = {c.key: c.params for c in launch.criteria.all()}
    metrics = {c.key: c.metric for c in launch.criteria.all()}
    for c in readiness.criteria:
        if c.spec.source:
            by_source.setdefault(c.spec.source, []).append(c)
    rows = []
    for source in sources:
        charts = []
        for c in by_source.get(source.key, []):
            t = c.spec.threshold
            if t is None or source.kind == "cloudwatch-alarms":
                continue
            key = (
                source.key,
                metrics[c.key],
                t.aggregate,
                window_of(source.kind, t.window_s),
            )
            points = series.get(key)
            if not points or not points.get("t"):
                continue
            p = params.get(c.key) or {}
            charts.append(
                {
                    "id": f"fig-live-{c.key}",
                    "title": c.spec.title,
                    "figure": live_figure(
                        points,
                        c.spec.measure,
                        t.bound(),
                        p.get("limit"),
                        p.get("limit_label", ""),
                        c.spec.unit,
                    ),
                }
            )
        rows.append({"source": source, "criteria": by_source.get(source.key, []), "charts": charts})
    return rows
