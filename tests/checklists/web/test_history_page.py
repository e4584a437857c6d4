"""The board at a past version (issue 13): the history page and the diff between versions."""

from __future__ import annotations

from checklists.core.services import criterion_tick, task_move
from checklists.models import Criterion, Launch, Task

PAGE = "/launches/whatsapp-saas/history/"


def changed(demo):
    first = Launch.objects.get(pk=demo.pk).version
    criterion_tick(Criterion.objects.get(launch=demo, key="redis-upgraded"), checked=True)
    task_move(Task.objects.get(launch=demo, key="deploy-staging"), status="in_progress")
    return first


def test_the_history_page_shows_a_past_board_and_what_changed_since(demo, client):
    first = changed(demo)
    now = Launch.objects.get(pk=demo.pk).version
    page = client.get(PAGE, {"version": first}).content.decode()
    assert f"Version {first}</strong>" in page
    assert "Redis upgraded to 6GB" in page and "Pending" in page
    assert 'type="range" name="version"' in page and f'max="{now}"' in page
    latest = client.get(PAGE, {"version": now, "compare": first}).content.decode()
    assert "Changed since version" in latest
    assert "Redis upgraded to 6GB: pending → pass" in latest
    assert "Deploy to staging: pending → in_progress" in latest
    assert client.get(PAGE, {"version": now + 3}).status_code == 404
    assert client.get(PAGE, {"at": "nope"}).status_code == 400


def test_the_diff_api_lists_what_changed_between_two_versions(demo, client):
    first = changed(demo)
    answer = client.get("/api/launches/whatsapp-saas/diff/", {"from": first})
    assert answer.status_code == 200
    found = {(c["part"], c["key"]): (c["before"], c["after"]) for c in answer.json()["changes"]}
    assert found[("criterion", "redis-upgraded")] == ("pending", "pass")
    assert found[("task", "deploy-staging")] == ("pending", "in_progress")
    for query in ({"from": "x"}, {"from": 5, "to": 2}, {"from": 0}):
        assert client.get("/api/launches/whatsapp-saas/diff/", query).status_code == 400


def test_a_private_launchs_past_is_private_too(demo, client):
    Launch.objects.filter(pk=demo.pk).update(visibility="private")
    assert client.get(PAGE).status_code == 404
    assert client.get("/api/launches/whatsapp-saas/", {"version": 1}).status_code == 404
    assert client.get("/api/launches/whatsapp-saas/report.md").status_code == 404
    assert client.get("/api/launches/whatsapp-saas/diff/", {"from": 1}).status_code == 404
