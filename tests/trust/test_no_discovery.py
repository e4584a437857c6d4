"""Issue 10 §9: a private launch's slug and its run ids cannot be told from missing ones, with a
bogus token, another launch's token, or none."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.test import Client

from checklists.core.services import plan_import
from checklists.core.tokens import token_create
from checklists.engine.plan import load_plan
from checklists.models import ApiToken, Launch
from metrics.services import run_ingest
from tests.checklists.plans import sized_plan

ROOT = Path(__file__).resolve().parents[2]
PEAK = ROOT / "tests" / "fixtures" / "k6" / "peak_pass.ndjson"


@pytest.fixture
def hidden(db):
    """A private launch with a run, and a token of another launch."""
    secret = plan_import(load_plan(sized_plan(1, slug="secret-launch"), "s.yaml")).launch
    Launch.objects.filter(pk=secret.pk).update(visibility="private")
    other = plan_import(load_plan(sized_plan(1, slug="other-launch"), "o.yaml")).launch
    run = run_ingest(secret, PEAK, test="lt0").run
    _, other_token = token_create(
        other, name="ci", scopes=[ApiToken.Scope.READ, ApiToken.Scope.UPLOAD], created_by="t"
    )
    return {"run": run.pk, "missing_run": run.pk + 1000, "other_token": other_token}


def answers(client: Client, method: str, url: str, token: str | None):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    if method == "post":
        response = client.post(url, {"test": "lt0"}, **headers)
    else:
        response = client.get(url, **headers)
    return response.status_code, response.json()


@pytest.mark.parametrize("token", [None, "lb_bogus_token_0123456789", "other"])
def test_a_private_launch_answers_like_a_missing_one(hidden, client, token):
    token = hidden["other_token"] if token == "other" else token
    for method, path in (("get", "/api/launches/{}/"), ("post", "/api/launches/{}/runs/")):
        status, body = answers(client, method, path.format("secret-launch"), token)
        existing = (status, str(body).replace("secret-launch", "SLUG"))
        status, body = answers(client, method, path.format("no-such-launch"), token)
        missing = (status, str(body).replace("no-such-launch", "SLUG"))
        assert existing == missing, (method, path, token)
        assert existing[0] in (401, 404)


@pytest.mark.parametrize("token", [None, "lb_bogus_token_0123456789", "other"])
def test_a_private_run_answers_like_a_missing_one(hidden, client, token):
    token = hidden["other_token"] if token == "other" else token
    existing = answers(client, "get", f"/api/runs/{hidden['run']}/", token)
    missing = answers(client, "get", f"/api/runs/{hidden['missing_run']}/", token)
    assert existing == missing
    assert existing[0] in (401, 404)
