from __future__ import annotations

import io

import orjson
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from checklists.models import Criterion, Gate, SignOff, Task


def readiness(*args):
    out = io.StringIO()
    code = 0
    try:
        call_command("readiness", *args, stdout=out)
    except SystemExit as exc:
        code = exc.code
    return code, out.getvalue()


def test_it_prints_the_verdict_and_blockers(demo):
    code, out = readiness("whatsapp-saas")
    assert code == 0
    assert "Verdict: PENDING" in out
    assert "Progress: 2.4% (5 of 210 min done, 205 min left)" in out


def test_exit_codes_follow_the_verdict(demo):
    assert readiness("whatsapp-saas", "--exit-code")[0] == 4
    code, out = readiness("whatsapp-saas", "--json", "--exit-code")
    assert (code, orjson.loads(out)["verdict"]) == (4, "PENDING")
    SignOff.objects.create(
        launch=demo,
        role="cto",
        decision="rejected",
        by_name="ann",
        at=demo.created_at,
        snapshot_hash="0" * 64,
    )
    assert readiness("whatsapp-saas", "--exit-code")[0] == 3


def test_exit_code_zero_when_everything_is_in(demo):
    Task.objects.filter(launch=demo).update(status="done")
    # Only manual criteria and sign-offs left once metric evidence is out of the picture.
    Criterion.objects.filter(launch=demo, kind="metric").update(required=False)
    Gate.objects.filter(launch=demo).update(requires_criteria=[])
    Criterion.objects.filter(launch=demo, kind="manual").update(checked=True)
    for role in ("cto", "devops", "security"):
        SignOff.objects.create(
            launch=demo,
            role=role,
            decision="approved",
            by_name=role,
            at=demo.created_at,
            snapshot_hash="0" * 64,
        )
    code, out = readiness("whatsapp-saas", "--exit-code")
    assert code == 0, out
    assert "Verdict: GO" in out


def test_an_unknown_launch_is_an_error(db):
    with pytest.raises(CommandError, match="no launch"):
        call_command("readiness", "nope")
