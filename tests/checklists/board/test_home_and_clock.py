"""The home page tells where each launch stands; the timeline is on the clock, with the target
and now (issue 12 §6, §12)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from checklists.board.charts import gantt_figure
from checklists.core.selectors import board_of, launch_with_plan
from checklists.core.services import task_move
from checklists.models import Task

pytestmark = pytest.mark.django_db


def test_the_home_page_and_the_list_say_verdict_progress_and_target(demo, client):
    [row] = client.get("/api/launches/").json()["launches"]
    data = client.get("/api/launches/whatsapp-saas/").json()
    assert row["verdict"] == data["verdict"] == "PENDING"
    assert row["progress_percent"] == data["progress"]["percent"]
    required = [c for c in data["criteria"] if c["required"]]
    assert row["criteria_required"] == len(required)
    assert row["criteria_ok"] == sum(c["status"] in ("pass", "warn", "waived") for c in required)
    assert row["target_at"].startswith("2025-01-19T09:00")
    assert row["blocker_count"] == len(data["blockers"]) and row["blockers"] == data["blockers"][:3]
    html = client.get("/").content.decode()
    assert 'class="launch-verdict verdict-pending"' in html
    assert f'value="{data["progress"]["percent"]}"' in html
    assert 'datetime="2025-01-19T09:00:00+00:00"' in html and "2025-01-19 09:00 UTC" in html


def test_a_change_reaches_the_list_at_once(demo, client):
    before = client.get("/api/launches/").json()["launches"][0]
    task_move(Task.objects.get(launch=demo, key="deploy-staging"), status="done")
    after = client.get("/api/launches/").json()["launches"][0]
    assert after["version"] == before["version"] + 1
    assert after["progress_percent"] > before["progress_percent"]


def test_the_timeline_is_on_the_clock_with_the_target_and_now(demo):
    done_at = datetime(2026, 11, 28, 20, 0, tzinfo=UTC)
    task_move(Task.objects.get(launch=demo, key="deploy-staging"), status="done")
    Task.objects.filter(launch=demo, key="deploy-staging").update(done_at=done_at)
    launch = launch_with_plan(pk=demo.pk)
    board = board_of(launch)
    now = datetime(2026, 11, 29, 3, 0, tzinfo=UTC)
    figure = gantt_figure(board.readiness.plan.tasks, now, launch.target_at)
    assert figure["layout"]["xaxis"]["type"] == "date"
    lines = {s["name"]: s["x0"] for s in figure["layout"]["shapes"]}
    # The target is long past: said at the chart's edge, not drawn 22 months away.
    assert lines == {"now": "2026-11-29 03:00:00"}
    [note] = [a for a in figure["layout"]["annotations"] if a["name"] == "target"]
    assert note["text"] == "target 2025-01-19 09:00 UTC (before this chart)"
    assert figure["layout"]["xaxis"]["range"][0] > "2026-11-28"
    near = gantt_figure(board.readiness.plan.tasks, now, now + timedelta(hours=2))
    [target] = [s for s in near["layout"]["shapes"] if s["name"] == "target"]
    assert target["x0"] == "2026-11-29 05:00:00"
    bars = {}
    for trace in figure["data"]:
        for title, base, width in zip(trace["y"], trace["base"], trace["x"], strict=True):
            start = datetime.fromisoformat(base).replace(tzinfo=UTC)
            bars[title] = (start, start + timedelta(milliseconds=width))
    assert bars["Deploy to staging"][1] == done_at  # where it was done
    verify = bars["Verify deployment"]
    assert verify[0] == now and verify[1] - verify[0] == timedelta(minutes=5)
    assert bars["Re-run peak load test"][0] == verify[1]  # after its prerequisite
    fixed = Task.objects.get(launch=demo, key="fix-db-pool").done_at  # done when imported
    assert bars["Fix DB connection pool"][1] == fixed.replace(microsecond=0)
