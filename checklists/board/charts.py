"""Plotly figures as plain JSON (the schema plotly.js reads), built server-side once per change."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from html import escape

from checklists.board.presenters import critical_path_minutes, wall_schedule

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


def plain(text: str) -> str:
    """Text from a plan, shown by plotly as text: plotly reads tags in labels (<a href>, <b>,
    styles), and turns the entities back into the characters."""
    return escape(text, quote=False)


def gantt_figure(tasks, now: datetime | None = None, target: datetime | None = None) -> dict:
    """The task timeline on the clock: done tasks where they were done, the rest from now in
    order of their prerequisites, coloured by status; a line at the go-live target and one at
    now (the page moves it with the clock: the figure is drawn once per change)."""
    now = now or datetime.now(UTC)
    rows = wall_schedule(tasks, now)
    titles = [plain(f"{t.title}{' (optional)' if t.optional else ''}") for t, _, _ in rows]
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
                "x": [(p[3] - p[2]).total_seconds() * 1000 for p in picked],
                "base": [_iso(p[2]) for p in picked],
                "marker": {"color": color},
                "customdata": [
                    [_hhmm(p[2]), _hhmm(p[3]), p[1].minutes, _when(p[1])] for p in picked
                ],
                "hovertemplate": "%{y}<br>%{customdata[0]} → %{customdata[1]} UTC "
                "(%{customdata[2]} min, %{customdata[3]})<extra></extra>",
            }
        )
    shapes, notes = [_vline(now, "now", "#1565c0", "solid")], []
    notes.append(_vnote(now, "now", "#1565c0"))
    first = min([s for _, s, _ in rows] + [now])
    last = max([e for _, _, e in rows] + [now])
    span = max(last - first, timedelta(hours=6))
    if target is not None and first - span <= target <= last + span:
        shapes.append(_vline(target, "target", "#c62828", "dash"))
        notes.append(_vnote(target, "target", "#c62828"))
        first, last = min(first, target), max(last, target)
    elif target is not None:
        # Far off (a target long past, or weeks away): drawn to scale, the tasks would be
        # slivers. Said at the edge instead.
        side = " (before this chart)" if target < first else " →"
        notes.append(_edge_note("target", f"target {_hhmm_full(target)} UTC{side}"))
    pad = max((last - first) * 0.03, timedelta(minutes=10))
    return {
        "data": traces,
        "layout": {
            "barmode": "overlay",
            "height": 70 + 30 * len(rows),
            "margin": {"l": 10, "r": 10, "t": 40, "b": 40},
            "yaxis": {"categoryorder": "array", "categoryarray": titles[::-1], "automargin": True},
            "xaxis": {
                "type": "date",
                "range": [_iso(first - pad), _iso(last + pad)],
                "title": {"text": "UTC"},
            },
            "shapes": shapes,
            "annotations": notes,
            "legend": {"orientation": "h", "y": -0.25},
            "paper_bgcolor": "rgba(0,0,0,0)",
            "plot_bgcolor": "rgba(0,0,0,0)",
        },
    }


def _edge_note(name: str, text: str) -> dict:
    """A moment too far off to draw to scale, said at the chart's top right edge."""
    return {
        "name": name,
        "x": 1,
        "xref": "paper",
        "xanchor": "right",
        "y": 1,
        "yref": "paper",
        "yanchor": "bottom",
        "yshift": 16,  # a line above the now-line's label, which it would cover
        "text": text,
        "showarrow": False,
        "font": {"color": "#c62828", "size": 11},
    }


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def _hhmm(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%m-%d %H:%M")


def _hhmm_full(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M")


def _when(task) -> str:
    if task.status == "done":
        return "done" if task.done_at else "done (no time recorded)"
    return "forecast from its estimate"


def _vline(moment: datetime, name: str, color: str, dash: str) -> dict:
    return {
        "type": "line",
        "name": name,
        "xref": "x",
        "yref": "paper",
        "x0": _iso(moment),
        "x1": _iso(moment),
        "y0": 0,
        "y1": 1,
        "line": {"color": color, "width": 2, "dash": dash},
    }


def _vnote(moment: datetime, text: str, color: str) -> dict:
    return {
        "name": text,
        "x": _iso(moment),
        "xref": "x",
        "y": 1,
        "yref": "paper",
        "yanchor": "bottom",
        "text": text,
        "showarrow": False,
        "font": {"color": color, "size": 11},
    }


def burndown_figure(tasks, anchor: datetime, pace: float, window=(None, None), target=None):
    """Minutes of required work left over time: the plan (every task at its estimate from the
    first start, independent ones in parallel), what was done (a step at each task done), and
    the forecast from ``anchor`` at the pace so far; the launch window shaded (else the target
    line). Drawn once per change of the tasks, like the timeline; the page moves the now-line."""
    required = [t for t in tasks if not t.optional]
    total = sum(t.minutes for t in required)
    done = sorted((t for t in required if t.status == "done"), key=lambda t: t.done_at or anchor)
    moments = [t.started_at or t.done_at for t in required if t.started_at or t.done_at]
    start = min([*moments, anchor])
    planned = critical_path_minutes([replace(t, status="pending") for t in required])
    left, xs, ys = total, [_iso(start)], [total]
    for t in done:
        left -= t.minutes
        xs.append(_iso(t.done_at or start))
        ys.append(left)
    xs.append(_iso(anchor))
    ys.append(left)
    finish = anchor + timedelta(minutes=math.ceil(critical_path_minutes(tasks) * pace))
    traces = [
        {
            "type": "scatter",
            "mode": "lines",
            "name": "Plan (estimates)",
            "x": [_iso(start), _iso(start + timedelta(minutes=planned))],
            "y": [total, 0],
            "line": {"color": "#9e9e9e", "dash": "dot"},
        },
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": "Done",
            "x": xs,
            "y": ys,
            "line": {"color": "#2e7d32", "shape": "hv"},
        },
        {
            "type": "scatter",
            "mode": "lines",
            "name": "Forecast at the pace so far",
            "x": [_iso(anchor), _iso(finish)],
            "y": [left, 0],
            "line": {"color": "#1565c0", "dash": "dash"},
        },
    ]
    shapes, notes = [_vline(anchor, "now", "#1565c0", "solid")], [_vnote(anchor, "now", "#1565c0")]
    opens, closes = window
    first, last = start, max(finish, start + timedelta(minutes=planned), anchor)
    span = max(last - first, timedelta(hours=6))
    deadline = closes or target
    if deadline is not None and not (first - span <= deadline <= last + span):
        # far off (a window long past, or weeks away): drawn to scale the lines would be a dot
        shown = "launch window" if closes else "target"
        side = " (before this chart)" if deadline < first else " →"
        notes.append(_edge_note("deadline", f"{shown} {_hhmm_full(opens or target)} UTC{side}"))
        opens = closes = target = None
    if opens and closes:
        first, last = min(first, opens), max(last, closes)
        shapes.append(
            {
                "type": "rect",
                "name": "window",
                "xref": "x",
                "yref": "paper",
                "x0": _iso(opens),
                "x1": _iso(closes),
                "y0": 0,
                "y1": 1,
                "fillcolor": "rgba(46,125,50,0.12)",
                "line": {"width": 0},
            }
        )
        notes.append(_vnote(opens, "launch window", "#2e7d32"))
    elif target is not None:
        shapes.append(_vline(target, "target", "#c62828", "dash"))
        notes.append(_vnote(target, "target", "#c62828"))
        first, last = min(first, target), max(last, target)
    pad = max((last - first) * 0.03, timedelta(minutes=10))
    return {
        "data": traces,
        "layout": {
            "height": 260,
            "margin": {"l": 50, "r": 10, "t": 40, "b": 40},
            "xaxis": {
                "type": "date",
                "title": {"text": "UTC"},
                "range": [_iso(first - pad), _iso(last + pad)],
            },
            "yaxis": {"title": {"text": "minutes of work left"}, "rangemode": "tozero"},
            "shapes": shapes,
            "annotations": notes,
            "legend": {"orientation": "h", "y": -0.4},
            "paper_bgcolor": "rgba(0,0,0,0)",
            "plot_bgcolor": "rgba(0,0,0,0)",
        },
    }


# --- load-test runs ----------------------------------------------------------------------------
MAX_POINTS = 600


def downsample(columns: dict, limit: int = MAX_POINTS) -> dict:
    """At most ``limit`` points: requests and failures averaged per second, p95 and VUs maxed."""
    t = columns.get("t") or []
    size = max(1, -(-len(t) // limit))
    if size == 1:
        return columns
    out = {name: [] for name in ("t", "requests", "failures", "p95_ms", "vus")}
    for start in range(0, len(t), size):
        chunk = slice(start, start + size)
        n = len(t[chunk])
        out["t"].append(t[start])
        out["requests"].append(sum(columns["requests"][chunk]) / n)
        out["failures"].append(sum(columns["failures"][chunk]) / n)
        p95 = [v for v in columns["p95_ms"][chunk] if v is not None]
        out["p95_ms"].append(max(p95) if p95 else None)
        vus = [v for v in columns["vus"][chunk] if v is not None]
        out["vus"].append(max(vus) if vus else None)
    return out


def _times(ts) -> list[str]:
    return [datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M:%S") for t in ts]


def _hline(value, axis: str, label: str, color: str) -> tuple[dict, dict]:
    # Left-axis limits are labelled at the left end, right-axis ones at the right, so two
    # limits at the same height do not print over each other.
    left = axis == "y"
    shape = {
        "type": "line",
        "xref": "paper",
        "x0": 0,
        "x1": 1,
        "yref": axis,
        "y0": value,
        "y1": value,
        "line": {"color": color, "dash": "dash", "width": 1.5},
    }
    note = {
        "xref": "paper",
        "x": 0 if left else 1,
        "xanchor": "left" if left else "right",
        "yref": axis,
        "y": value,
        "text": label,
        "showarrow": False,
        "font": {"color": color, "size": 11},
        "yanchor": "bottom",
    }
    return shape, note


def _base_layout(height=260) -> dict:
    return {
        "height": height,
        "margin": {"l": 50, "r": 50, "t": 10, "b": 30},
        "legend": {"orientation": "h", "y": 1.15},
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
        "xaxis": {"type": "date"},
    }


def latency_figure(columns: dict, p95_limit: float | None, error_limit: float | None) -> dict:
    """p95 (left axis) and error rate (right axis) per second, with the plan's thresholds."""
    c = downsample(columns)
    x = _times(c["t"])
    errors = [
        round(100 * f / r, 3) if r else None
        for f, r in zip(c["failures"], c["requests"], strict=True)
    ]
    layout = _base_layout() | {
        "yaxis": {"title": {"text": "p95 (ms)"}, "rangemode": "tozero"},
        "yaxis2": {
            "title": {"text": "errors (%)"},
            "overlaying": "y",
            "side": "right",
            "rangemode": "tozero",
            "showgrid": False,
        },
        "shapes": [],
        "annotations": [],
    }
    for value, axis, label, color in (
        (p95_limit, "y", f"p95 limit {p95_limit:g} ms" if p95_limit else "", "#1565c0"),
        (
            error_limit * 100 if error_limit is not None else None,
            "y2",
            f"error limit {error_limit * 100:g}%" if error_limit is not None else "",
            "#c62828",
        ),
    ):
        if value is not None:
            shape, note = _hline(value, axis, label, color)
            layout["shapes"].append(shape)
            layout["annotations"].append(note)
    return {
        "data": [
            {
                "type": "scatter",
                "mode": "lines",
                "name": "p95 (ms)",
                "x": x,
                "y": c["p95_ms"],
                "line": {"color": "#1565c0"},
                "connectgaps": False,
            },
            {
                "type": "scatter",
                "mode": "lines",
                "name": "errors (%)",
                "x": x,
                "y": errors,
                "yaxis": "y2",
                "line": {"color": "#c62828"},
            },
        ],
        "layout": layout,
    }


def load_figure(columns: dict) -> dict:
    """Requests per second (bars) and virtual users (line)."""
    c = downsample(columns)
    x = _times(c["t"])
    layout = _base_layout(220) | {
        "yaxis": {"title": {"text": "requests/s"}, "rangemode": "tozero"},
        "yaxis2": {
            "title": {"text": "VUs"},
            "overlaying": "y",
            "side": "right",
            "rangemode": "tozero",
            "showgrid": False,
        },
        "bargap": 0,
    }
    return {
        "data": [
            {
                "type": "bar",
                "name": "requests/s",
                "x": x,
                "y": c["requests"],
                "marker": {"color": "#90a4ae"},
            },
            {
                "type": "scatter",
                "mode": "lines",
                "name": "VUs",
                "x": x,
                "y": c["vus"],
                "yaxis": "y2",
                "line": {"color": "#6a1b9a", "shape": "hv"},
            },
        ],
        "layout": layout,
    }


def live_figure(
    points: dict, title: str, bound: float | None, limit: float | None, limit_label: str, unit: str
) -> dict:
    """A live series with the criterion's threshold and, when the plan names one, a hard
    limit (the pool size behind DB connections)."""
    scale = 100 if unit == "%" else 1
    values = [None if v is None else v * scale for v in points.get("v", [])]
    layout = _base_layout(200) | {
        "yaxis": {"title": {"text": plain(unit or title)}, "rangemode": "tozero"},
        "shapes": [],
        "annotations": [],
        "showlegend": False,
    }
    for value, label, color in (
        (bound, "threshold", "#c62828"),
        (limit, limit_label or "limit", "#111827"),
    ):
        if value is not None:
            shape, note = _hline(value * scale, "y", plain(f"{label} {value * scale:g}"), color)
            layout["shapes"].append(shape)
            layout["annotations"].append(note)
    return {
        "data": [
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": plain(title),
                "x": points.get("t", []),
                "y": values,
                "line": {"color": "#1565c0"},
            }
        ],
        "layout": layout,
    }
