"""The readiness report (and decision record) of a launch at any version, as Markdown and PDF.

Both come from one template, ``reports/readiness.md``: the PDF is that Markdown turned into
HTML (Python-Markdown) and printed by WeasyPrint, with the charts (plotly, exported as SVG
through kaleido and the machine's Chromium) as images. Every figure is computed from the board
rebuilt at the version (checklists.core.history), so a report of version N is the same
document whenever it is made.
"""

from __future__ import annotations

import base64
import logging
import os
import shutil
import threading

import markdown
import plotly.graph_objects as go
from django.core.cache import caches
from django.template.loader import render_to_string

from checklists.board import past
from checklists.core import history
from checklists.models import DecisionRecord, Event, SignOff
from metrics import selectors as evidence

log = logging.getLogger(__name__)

STATUS_LINES = {"GO": "READY FOR LAUNCH", "NO_GO": "NOT READY", "PENDING": "PENDING"}
KEEP_S = 24 * 3600  # a version's documents never change
CHROMIUM = ("chromium", "chromium-browser", "google-chrome")
_charts_lock = threading.Lock()  # one Chromium at a time draws charts


def _percent(part: int, whole: int) -> float:
    return round(100 * part / whole, 1) if whole else 100.0


def report_context(launch, version: int | None = None) -> dict:
    """Everything the report says about ``version`` (the current one by default)."""
    version = version or launch.version
    if version == launch.version:
        history.ensure_current(launch.pk)
    board = past.readiness_at(launch, version)
    inputs = history.inputs_at(launch.pk, version)
    _, digest = inputs.snapshot()  # from the inputs just read, not read again
    criteria = board["criteria"]
    required = [c for c in criteria if c["required"]]
    tasks = [t for t in board["tasks"] if not t["optional"]]
    runs = evidence.runs_by_sha(launch.pk, inputs.runs.values())
    tests = []
    by_key = {c["key"]: c for c in criteria}
    for test in launch.load_tests.all():
        mine = [by_key[c.key] for c in inputs.plan.criteria if c.test == test.key]
        run = runs.get(inputs.runs.get(test.key, ""))
        earlier = evidence.earlier_run(run) if run else None
        passing = bool(run) and all(c["status"] in ("pass", "warn", "waived") for c in mine)
        tests.append(
            {
                "key": test.key,
                "title": test.title,
                "run": run,
                "overall": (run.overall or {}) if run else {},
                "earlier": earlier,
                "compare": evidence.compare_runs(run, earlier) if run and earlier else [],
                "criteria": mine,
                "passing": passing,
            }
        )
    event = Event.objects.filter(launch=launch, version=version).first()
    head = Event.objects.filter(launch=launch).order_by("-version").first()
    return {
        "launch": launch,
        "version": version,
        "board": board,
        "status_line": STATUS_LINES[board["verdict"]],
        "completion": {
            "tasks": _percent(sum(t["status"] == "done" for t in tasks), len(tasks)),
            "tasks_done": sum(t["status"] == "done" for t in tasks),
            "tasks_total": len(tasks),
            "time": board["progress"]["percent"],
            "criteria": _percent(
                sum(c["status"] in ("pass", "warn", "waived") for c in required), len(required)
            ),
            "criteria_ok": sum(c["status"] in ("pass", "warn", "waived") for c in required),
            "criteria_total": len(required),
            "tests": _percent(sum(t["passing"] for t in tests), len(tests)),
            "tests_passing": sum(t["passing"] for t in tests),
            "tests_total": len(tests),
        },
        "tests": tests,
        "waivers": [c for c in criteria if c["waiver"]],
        "signoffs": _signoffs(launch, board, inputs.at),
        "decision": DecisionRecord.objects.filter(launch=launch, version__lte=version)
        .order_by("-decided_at")
        .first(),
        "snapshot_hash": digest,
        "event": event,
        "head": head,
        "at": inputs.at,
    }


def _signoffs(launch, board, at) -> list[dict]:
    """Each role's status at the version, with the snapshot hash its decision was bound to."""
    rows = SignOff.objects.filter(launch=launch, at__lte=at).exclude(decision="lapsed")
    newest: dict[str, SignOff] = {}
    for s in rows.order_by("role", "-at", "-id"):
        newest.setdefault(s.role, s)
    return [
        s | {"hash": getattr(newest.get(s["role"]), "snapshot_hash", "")} for s in board["signoffs"]
    ]


def as_markdown(launch, version: int | None = None, charts: list[dict] | None = None) -> str:
    context = report_context(launch, version) | {"charts": charts or []}
    return render_to_string("reports/readiness.md", context)


# --- PDF -----------------------------------------------------------------------------------
def chart_figures(context: dict) -> list[tuple[str, go.Figure]]:
    """(title, figure) for the report's charts: completion, and each test's newest p95 beside
    the run before it."""
    c = context["completion"]
    completion = go.Figure(
        go.Bar(
            x=[c["tasks"], c["criteria"], c["tests"]],
            y=["Tasks done", "Required criteria met", "Load tests passing"],
            orientation="h",
            text=[f"{c['tasks']:g}%", f"{c['criteria']:g}%", f"{c['tests']:g}%"],
            textposition="auto",
            marker_color=["#2563eb", "#16a34a", "#9333ea"],
        )
    )
    completion.update_xaxes(range=[0, 100], ticksuffix="%")
    figures = [("Completion", completion)]
    tested = [t for t in context["tests"] if t["run"]]
    if tested:
        latency = go.Figure()
        latency.add_bar(
            name="before",
            x=[t["title"] for t in tested],
            y=[
                (t["earlier"].overall or {}).get("p95_ms") if t["earlier"] else None for t in tested
            ],
            marker_color="#94a3b8",
        )
        latency.add_bar(
            name="newest run",
            x=[t["title"] for t in tested],
            y=[t["overall"].get("p95_ms") for t in tested],
            marker_color="#2563eb",
        )
        latency.update_yaxes(title_text="p95 (ms)")
        figures.append(("Load tests: p95 of the newest run and the one before", latency))
    for _, figure in figures:
        figure.update_layout(
            width=720,
            height=260,
            margin={"l": 150, "r": 20, "t": 20, "b": 40},
            template="plotly_white",
            font={"size": 12},
        )
    return figures


def browser_path() -> str | None:
    """The Chromium kaleido draws with (``BROWSER_PATH``, else one on PATH)."""
    if os.environ.get("BROWSER_PATH"):
        return os.environ["BROWSER_PATH"]
    return next((found for name in CHROMIUM if (found := shutil.which(name))), None)


def chart_images(context: dict) -> tuple[list[dict], str]:
    """([{title, src}], "") with each chart as an SVG data URI, or ([], why there are none)."""
    browser = browser_path()
    if browser is None:
        return [], "Charts need Chromium on the server (apt-get install chromium)."
    import kaleido  # only documents with charts start a browser

    os.environ.setdefault("BROWSER_PATH", browser)
    images = []
    with _charts_lock:
        try:
            kaleido.start_sync_server(silence_warnings=True)
            for title, figure in chart_figures(context):
                svg = figure.to_image(format="svg")
                src = "data:image/svg+xml;base64," + base64.b64encode(svg).decode()
                images.append({"title": title, "src": src})
        except Exception as exc:  # the document is still worth having without its charts
            log.warning("could not draw the report's charts", exc_info=True)
            return [], f"The charts could not be drawn ({type(exc).__name__})."
        finally:
            kaleido.stop_sync_server(silence_warnings=True)
    return images, ""


def as_pdf(launch, version: int | None = None) -> bytes:
    """The report as PDF, kept per version (a version's document never changes)."""
    version = version or launch.version
    key = f"lb:report:{launch.pk}:{version}:pdf"
    cache = caches["sections"]
    try:
        kept = cache.get(key)
    except Exception:
        kept = None
    if kept is not None:
        return kept
    from weasyprint import HTML  # only PDFs need WeasyPrint (and Pango)

    context = report_context(launch, version)
    charts, no_charts = chart_images(context)
    text = render_to_string(
        "reports/readiness.md", context | {"charts": charts, "no_charts": no_charts}
    )
    body = markdown.markdown(text, extensions=["tables", "sane_lists"])
    html = render_to_string(
        "reports/readiness.html", {"body": body, "launch": launch, "version": version}
    )
    pdf = HTML(string=html).write_pdf()
    try:
        cache.set(key, pdf, KEEP_S)
    except Exception:
        log.warning("could not keep the PDF of %s v%s", launch.pk, version, exc_info=True)
    return pdf
