"""Plotly figures as plain JSON (the schema plotly.js reads), built server-side once per change."""

from __future__ import annotations

from .presenters import schedule

STATUS_COLORS = {
    "done": "#2e7d32",
    "in_progress": "#1565c0",
    "pending": "#9e9e9e",
    "blocked": "#c62828",
}
STATUS_NAMES = {
    "done": "Done",
    "in_progress": "In progress",
    "pending": "Pending",
    "blocked": "Blocked",
}


def _clock(minutes: int) -> str:
    return f"{minutes // 60}:{minutes % 60:02d}"


def gantt_figure(tasks) -> dict:
    """The task timeline: each task after its dependencies, coloured by status."""
    rows = schedule(tasks)
    titles = [f"{t.title}{' (optional)' if t.optional else ''}" for t, _, _ in rows]
    traces = []
    for status, color in STATUS_COLORS.items():
        picked = [
            (title, t, s, e)
            for title, (t, s, e) in zip(titles, rows, strict=True)
            if t.status == status
        ]
        if not picked:
            continue
        traces.append(
            {
                "type": "bar",
                "orientation": "h",
                "name": STATUS_NAMES[status],
                "y": [p[0] for p in picked],
                "x": [p[3] - p[2] for p in picked],
                "base": [p[2] for p in picked],
                "marker": {"color": color},
                "customdata": [[_clock(p[2]), _clock(p[3]), p[1].minutes] for p in picked],
                "hovertemplate": "%{y}<br>%{customdata[0]} → %{customdata[1]} "
                "(%{customdata[2]} min)<extra></extra>",
            }
        )
    end = max((e for _, _, e in rows), default=60)
    step = 30 if end <= 300 else 60
    ticks = list(range(0, end + step, step))
    return {
        "data": traces,
        "layout": {
            "barmode": "overlay",
            "height": 60 + 30 * len(rows),
            "margin": {"l": 10, "r": 10, "t": 10, "b": 40},
            "yaxis": {"categoryorder": "array", "categoryarray": titles[::-1], "automargin": True},
            "xaxis": {
                "tickvals": ticks,
                "ticktext": [_clock(t) for t in ticks],
                "title": {"text": "hours from start (h:mm)"},
                "range": [0, end],
            },
            "legend": {"orientation": "h", "y": -0.25},
            "paper_bgcolor": "rgba(0,0,0,0)",
            "plot_bgcolor": "rgba(0,0,0,0)",
        },
    }
