"""Issue 10 §11, §12: what a form or a plan sends is checked, never a 500, never markup."""

from __future__ import annotations

import pytest

from checklists.board.charts import gantt_figure
from checklists.core.selectors import board_of, launch_with_plan
from checklists.core.services import ChangeRefused, criterion_tick
from checklists.models import ApiToken, Criterion, Membership, ShareLink


@pytest.fixture
def owner(demo, django_user_model, client):
    admin = django_user_model.objects.create_user("owner", password="pw-owner-123")
    Membership.objects.create(launch=demo, user=admin, role="admin")
    client.force_login(admin)
    return admin


@pytest.mark.parametrize(
    "page, field",
    [
        ("members", "remove"),
        ("share", "revoke"),
        ("tokens", "revoke"),
        ("tokens", "days"),
    ],
)
@pytest.mark.parametrize("value", ["abc", "1.5", "-3", "99999999999999999999999", "1e3"])
def test_a_number_that_is_not_one_is_a_clear_4xx(demo, owner, client, page, field, value):
    tokens, links = ApiToken.objects.count(), ShareLink.objects.count()
    members = Membership.objects.count()
    response = client.post(f"/launches/whatsapp-saas/{page}/", {field: value})
    assert 400 <= response.status_code < 500
    assert (ApiToken.objects.count(), ShareLink.objects.count()) == (tokens, links)
    assert Membership.objects.count() == members


def test_days_in_range_still_make_a_token(demo, owner, client):
    response = client.post("/launches/whatsapp-saas/tokens/", {"days": "7", "name": "ci"})
    assert response.status_code == 200
    token = ApiToken.objects.get(name="ci")
    assert 6 <= (token.expires_at - token.created_at).days <= 7


def test_task_titles_reach_plotly_as_text_not_markup(demo):
    task = demo.tasks.first()
    type(task).objects.filter(pk=task.pk).update(
        title='<b>bold</b> <a href="javascript:alert(1)">x</a> & co'
    )
    board = board_of(launch_with_plan(pk=demo.pk))
    figure = gantt_figure(board.readiness.plan.tasks)
    labels = [y for trace in figure["data"] for y in trace["y"]]
    shown = next(label for label in labels if "bold" in label)
    assert "<" not in shown and ">" not in shown
    assert shown.startswith("&lt;b&gt;bold&lt;/b&gt;") and "&amp; co" in shown


@pytest.mark.parametrize(
    "url",
    ["javascript:alert(1)", "JavaScript:alert(1)", "data:text/html,x", "ftp://x/y", "//evil"],
)
def test_an_evidence_link_is_a_web_address(demo, url):
    c = Criterion.objects.get(launch=demo, key="redis-upgraded")
    with pytest.raises(ChangeRefused, match="http"):
        criterion_tick(c, checked=True, evidence_url=url)
    c.refresh_from_db()
    assert not c.checked and c.evidence_url == ""
    criterion_tick(c, checked=True, evidence_url="https://ci.example.com/run/1")
    c.refresh_from_db()
    assert c.checked and c.evidence_url == "https://ci.example.com/run/1"
