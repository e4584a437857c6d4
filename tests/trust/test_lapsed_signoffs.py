"""Issue 10 §2: once an approval is stale it stays stale until its role signs again, whatever
the state does afterwards (a run invalidated, the plan put back, an item ticked again)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from checklists.core.services import criterion_tick, plan_import
from checklists.engine.plan import load_plan
from checklists.models import Criterion, Event, SignOff, Task
from metrics.services import run_ingest, run_invalidate
from tests.checklists.core.test_security import sign

ROOT = Path(__file__).resolve().parents[2]
K6 = ROOT / "tests" / "fixtures" / "k6"


def cto_status(client) -> dict:
    data = client.get("/api/launches/whatsapp-saas/").json()
    return next(s for s in data["signoffs"] if s["role"] == "cto")


@pytest.fixture
def after_commit(django_capture_on_commit_callbacks):
    """Run what a change does after its commit (render, push, lapse), as production does."""

    def changing(work, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return work(*args, **kwargs)

    return changing


def test_an_invalidated_failing_run_does_not_revive_the_approval(
    demo, signers, client, after_commit
):
    Task.objects.filter(launch=demo).update(status="done", done_at=timezone.now())
    Task.objects.filter(launch=demo, key="deploy-staging").update(
        done_at=timezone.now() - timedelta(days=3650)
    )
    after_commit(run_ingest, demo, K6 / "peak_pass.ndjson", test="peak")
    assert after_commit(sign, client, signers["cto"]).status_code == 302
    assert cto_status(client)["status"] == "approved"

    failing = after_commit(run_ingest, demo, K6 / "peak_fail.ndjson", test="peak").run
    assert cto_status(client)["status"] == "stale"
    lapse = Event.objects.filter(launch=demo, kind="signoff.lapsed").get()
    assert "stale" in lapse.summary

    after_commit(run_invalidate, failing, reason="wrong environment", actor_name="eng")
    data = client.get("/api/launches/whatsapp-saas/").json()
    cto = next(s for s in data["signoffs"] if s["role"] == "cto")
    assert cto["status"] == "stale"
    assert data["verdict"] != "GO"
    assert any("CTO" in b for b in data["blockers"])
    assert Event.objects.filter(launch=demo, kind="signoff.lapsed").count() == 1

    # the same state, signed again by its role: approved again
    assert after_commit(sign, client, signers["cto"]).status_code == 302
    assert cto_status(client)["status"] == "approved"


def test_ticking_an_item_again_does_not_revive_the_approval(demo, signers, client, after_commit):
    c = Criterion.objects.get(launch=demo, key="redis-upgraded")
    after_commit(criterion_tick, c, checked=True, actor=signers["engineer"])
    assert after_commit(sign, client, signers["cto"]).status_code == 302
    after_commit(criterion_tick, c, checked=False, actor=signers["engineer"], reason="rolled back")
    assert cto_status(client)["status"] == "stale"
    c.refresh_from_db()
    after_commit(criterion_tick, c, checked=True, actor=signers["engineer"])
    cto = cto_status(client)
    assert cto["status"] == "stale"
    assert cto["by"] == "cto"  # whose approval lapsed is still shown
    # a replayed form of the lapsed approval is not refused as "already signed"
    assert after_commit(sign, client, signers["cto"]).status_code == 302
    assert cto_status(client)["status"] == "approved"
    assert SignOff.objects.filter(launch=demo, decision="lapsed").count() == 1


def test_putting_the_plan_back_does_not_revive_the_approval(
    demo, demo_plan_text, signers, client, after_commit
):
    assert after_commit(sign, client, signers["cto"]).status_code == 302
    changed = demo_plan_text.replace("estimate: 5m", "estimate: 7m", 1)  # a changed estimate
    assert changed != demo_plan_text
    after_commit(plan_import, load_plan(changed, "whatsapp-saas.yaml"))
    assert cto_status(client)["status"] == "stale"
    after_commit(plan_import, load_plan(demo_plan_text, "whatsapp-saas.yaml"))
    assert cto_status(client)["status"] == "stale"


def test_a_lapse_is_recorded_once_and_by_the_clock_too(demo, signers, client, after_commit):
    """The clock's sweep records a lapse a change did not (a process that died after commit)."""
    from checklists.core.services import readiness_check, signoffs_lapse

    c = Criterion.objects.get(launch=demo, key="redis-upgraded")
    after_commit(criterion_tick, c, checked=True, actor=signers["engineer"])
    assert after_commit(sign, client, signers["cto"]).status_code == 302
    criterion_tick(c, checked=False, actor=signers["engineer"], reason="x")  # no after-commit
    assert not SignOff.objects.filter(decision="lapsed").exists()
    readiness_check(demo.pk)
    assert SignOff.objects.filter(decision="lapsed").count() == 1
    assert signoffs_lapse(demo.pk) == []
    assert SignOff.objects.filter(decision="lapsed").count() == 1
