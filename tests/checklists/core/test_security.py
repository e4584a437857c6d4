"""People and trust, named after reliability.md §3.3: S1 deploy gate and headers, S2 CSRF,
S3 the IDOR matrix, S4 sign-off escalation, S5 audit tampering, S7 brute force, S8 tokens.
(S6, the WebSocket, is in test_consumers.py; S9, schemathesis, in test_schemathesis.py.)"""

from __future__ import annotations

import io
import logging
import os
import secrets
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, connections, transaction
from django.test import Client
from django.urls import get_resolver
from django.utils import timezone

from checklists.core.events import append_event, verify_chain
from checklists.core.selectors import board_of, launch_with_plan
from checklists.core.services import plan_import
from checklists.core.snapshot import snapshot_hash, snapshot_of
from checklists.core.tokens import token_create, token_revoke
from checklists.engine.plan import load_plan
from checklists.models import Criterion, Event, Launch, Membership, SignOff, Task
from metrics.services import run_ingest
from tests.checklists.plans import sized_plan

ROOT = Path(__file__).resolve().parents[3]
PASSWORD = "correct horse battery staple"
PEAK = ROOT / "tests" / "fixtures" / "k6" / "peak_pass.ndjson"


def user(django_user_model, name, launch=None, role=None, signoff=""):
    u = django_user_model.objects.create_user(name, password=PASSWORD)
    if launch is not None:
        Membership.objects.create(launch=launch, user=u, role=role, signoff_role=signoff)
    return u


def at_once(work, count: int) -> list[Exception]:
    """Run ``work(i)`` in ``count`` threads released together, each closing its own database
    connections; the exceptions they raised."""
    errors, barrier = [], threading.Barrier(count)

    def run(i):
        try:
            barrier.wait()
            work(i)
        except Exception as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def shown_hash(launch) -> str:
    """The hash a sign-off form shows now (and, as the form does, its snapshot kept)."""
    from checklists.core.services import remember_snapshot

    fresh = launch_with_plan(pk=launch.pk)
    snapshot = snapshot_of(fresh, board_of(fresh).readiness)
    remember_snapshot(snapshot, digest := snapshot_hash(snapshot))
    return digest


# --- S1 ----------------------------------------------------------------------------------------
def test_s1_the_deploy_check_is_clean_under_production_settings(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_"))}
    env |= {
        "DATABASE_URL": "postgres://launchboard@db.internal:5432/launchboard",
        "REDIS_URL": "redis://redis.internal:6379/0",
        "LAUNCHBOARD_SECRET_KEY": secrets.token_urlsafe(60),
        "ALLOWED_HOSTS": "launch.example.com",
        "LAUNCHBOARD_HTTPS": "true",
        "LAUNCHBOARD_DATA_DIR": str(tmp_path),
        "DEBUG": "false",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_s1_security_headers(demo, client, settings):
    settings.SECURE_HSTS_SECONDS, settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = 31536000, True
    response = client.get("/launches/whatsapp-saas/", secure=True)
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert "max-age=31536000; includeSubDomains" in response["Strict-Transport-Security"]


def test_s1_errors_show_no_traceback(db, client):
    response = client.get("/launches/nope/")
    assert response.status_code == 404
    assert b"Traceback" not in response.content and b"DEBUG" not in response.content


# --- S2 ----------------------------------------------------------------------------------------
CSRF_EXEMPT_ALLOWLIST = {"api-runs-upload", "run-upload"}  # token-authenticated / checked inside


def unsafe_routes(launch, run_id):
    return {
        "task-move": f"/launches/{launch}/tasks/deploy-staging/move/",
        "criterion-tick": f"/launches/{launch}/criteria/redis-upgraded/tick/",
        "run-upload": f"/launches/{launch}/runs/upload/",
        "run-invalidate": f"/launches/{launch}/runs/{run_id}/invalidate/",
        "run-pin": f"/launches/{launch}/runs/{run_id}/pin/",
        "run-test": f"/launches/{launch}/runs/{run_id}/test/",
        "signoff": f"/launches/{launch}/signoff/cto/",
        "waive": f"/launches/{launch}/criteria/redis-upgraded/waive/",
        "launch-members": f"/launches/{launch}/members/",
        "launch-share": f"/launches/{launch}/share/",
        "launch-tokens": f"/launches/{launch}/tokens/",
        "login": "/accounts/login/",
        "logout": "/accounts/logout/",
        "password_change": "/accounts/password/",
    }


def test_s2_only_allowlisted_views_skip_csrf():
    exempt = {
        pattern.name
        for pattern in get_resolver().url_patterns
        if getattr(getattr(pattern, "callback", None), "csrf_exempt", False)
    }
    assert exempt <= CSRF_EXEMPT_ALLOWLIST


@pytest.mark.parametrize("attack", ["no token", "token of another session", "foreign origin"])
def test_s2_every_session_form_refuses_a_forged_post(demo, django_user_model, attack):
    admin = user(django_user_model, "root")
    admin.is_staff = True
    admin.save()
    Membership.objects.create(launch=demo, user=admin, role="approver", signoff_role="cto")
    run = run_ingest(demo, PEAK, test="peak").run
    victim = Client(enforce_csrf_checks=True)
    victim.force_login(admin)
    victim.get("/launches/whatsapp-saas/")  # sets the victim's CSRF cookie
    other = Client(enforce_csrf_checks=True)
    other.get("/accounts/login/")
    stolen = other.cookies["csrftoken"].value
    before = (Event.objects.count(), Run_count(), SignOff.objects.count())
    for name, url in unsafe_routes("whatsapp-saas", run.pk).items():
        data = {
            "status": "done",
            "checked": "1",
            "reason": "x",
            "decision": "approved",
            "password": PASSWORD,
            "username": "root",
        }
        headers = {}
        if attack == "token of another session":
            data["csrfmiddlewaretoken"] = stolen
        elif attack == "foreign origin":
            data["csrfmiddlewaretoken"] = victim.cookies["csrftoken"].value
            headers = {"Origin": "https://evil.example"}
        response = victim.post(url, data, headers=headers)
        assert response.status_code == 403, (name, response.status_code)
    assert (Event.objects.count(), Run_count(), SignOff.objects.count()) == before


def Run_count():
    from metrics.models import Run

    return Run.objects.count()


# --- S3 ----------------------------------------------------------------------------------------
@pytest.fixture
def two_launches(db, django_user_model):
    a = plan_import(load_plan(sized_plan(3, "launch-a").replace("Sized 3", "SENTINEL-A"))).launch
    b = plan_import(load_plan(sized_plan(3, "launch-b").replace("Sized 3", "SENTINEL-B"))).launch
    Launch.objects.filter(pk__in=[a.pk, b.pk]).update(visibility="private")
    run_b = run_ingest(b, PEAK, test="lt0").run
    users = {
        "viewer": user(django_user_model, "viewer-a", a, "viewer"),
        "engineer": user(django_user_model, "engineer-a", a, "engineer"),
        "cto": user(django_user_model, "cto-a", a, "approver", "cto"),
        "admin": user(django_user_model, "admin-a", a, "admin"),
    }
    return a, b, run_b, users


def test_s3_nothing_of_launch_b_is_reachable_from_launch_a(two_launches, client):
    _a, b, run_b, users = two_launches
    gets = [
        "/launches/launch-b/",
        "/api/launches/launch-b/",
        f"/api/runs/{run_b.pk}/",
        f"/launches/launch-b/runs/{run_b.pk}/",
        f"/launches/launch-a/runs/{run_b.pk}/",
        "/launches/launch-b/signoff/cto/",
        "/launches/launch-b/criteria/c0/waive/",
        "/launches/launch-b/members/",
        "/launches/launch-b/share/",
        "/launches/launch-b/tokens/",
        "/launches/launch-b/audit.json",
        "/launches/launch-b/audit.csv",
    ]
    posts = [
        "/launches/launch-b/tasks/t0/move/",
        "/launches/launch-b/criteria/c0/tick/",
        f"/launches/launch-b/runs/{run_b.pk}/invalidate/",
        f"/launches/launch-a/runs/{run_b.pk}/invalidate/",
        f"/launches/launch-b/runs/{run_b.pk}/pin/",
        "/launches/launch-b/signoff/cto/",
    ]
    for who in [None, *users.values()]:
        client.logout()
        if who is not None:
            client.force_login(who)
        for url in gets:
            response = client.get(url)
            # No existence oracle: B answers exactly as a launch that does not exist.
            ghost = client.get(url.replace("launch-b", "no-such-launch"))
            assert response.status_code == ghost.status_code, (who, url)
            assert response.status_code == (
                404
                if who
                or "/api/" in url
                or url.endswith(("launch-b/", f"runs/{run_b.pk}/", ".json", ".csv"))
                else 302
            ), (who, url)
            assert b"SENTINEL-B" not in response.content
        for url in posts:
            data = {"status": "done", "reason": "x", "checked": "1"}
            response = client.post(url, data)
            ghost_url = url.replace("launch-b", "no-such-launch").replace(
                f"/runs/{run_b.pk}/", "/runs/999999/"
            )
            # The same answer as for something that does not exist: 302 to sign in, 403 for
            # a role A's page does not give, 404 otherwise. Never B's content.
            assert response.status_code == client.post(ghost_url, data).status_code, (who, url)
            assert response.status_code in (302, 403, 404), (who, url)
            assert b"SENTINEL-B" not in response.content
        listing = client.get("/api/launches/").content + client.get("/").content
        assert b"SENTINEL-B" not in listing and b"launch-b" not in listing
    assert Task.objects.get(launch=b, key="t0").status == "pending"
    assert not b.events.exclude(kind__in=["plan.imported", "run.ingested"]).exists()


def test_s3_a_token_of_launch_a_reaches_nothing_of_launch_b(two_launches, client):
    a, _b, run_b, _ = two_launches
    token = token_create(a, name="ci", scopes=["runs:write", "readiness:read"])[1]
    auth = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/launches/launch-b/", headers=auth).status_code == 404
    assert client.get(f"/api/runs/{run_b.pk}/", headers=auth).status_code == 404
    with open(PEAK, "rb") as f:
        response = client.post("/api/launches/launch-b/runs/", {"file": f}, headers=auth)
    assert response.status_code == 404
    assert b"SENTINEL-B" not in response.content


# --- S4 ----------------------------------------------------------------------------------------
@pytest.fixture
def signers(demo, django_user_model):
    return {
        "engineer": user(django_user_model, "eng", demo, "engineer"),
        "cto": user(django_user_model, "cto", demo, "approver", "cto"),
        "security": user(django_user_model, "sec", demo, "approver", "security"),
    }


def sign(client, who, role="cto", **extra):
    client.force_login(who)
    data = {
        "decision": "approved",
        "comment": "ok",
        "password": PASSWORD,
        "snapshot_hash": extra.pop("snapshot_hash", None),
    } | extra
    if data["snapshot_hash"] is None:
        data["snapshot_hash"] = shown_hash(Launch.objects.get(slug="whatsapp-saas"))
    return client.post(f"/launches/whatsapp-saas/signoff/{role}/", data)


def test_s4_only_the_holder_of_a_role_signs_for_it(demo, signers, client):
    assert sign(client, signers["engineer"]).status_code == 403
    assert sign(client, signers["cto"], role="security").status_code == 403
    assert SignOff.objects.count() == 0
    assert sign(client, signers["cto"]).status_code == 302
    assert SignOff.objects.get().role == "cto"


def test_s4_one_person_cannot_sign_two_roles(demo, signers, client):
    Membership.objects.create(
        launch=demo, user=signers["cto"], role="approver", signoff_role="security"
    )
    assert sign(client, signers["cto"]).status_code == 302
    assert sign(client, signers["cto"], role="security").status_code == 403
    assert list(SignOff.objects.values_list("role", flat=True)) == ["cto"]


def test_s4_who_what_and_when_come_from_the_server(demo, signers, client):
    response = sign(
        client,
        signers["cto"],
        user=signers["security"].pk,
        by_name="someone else",
        role_key="security",
        at="2020-01-01T00:00:00Z",
        status="approved",
    )
    assert response.status_code == 302
    s = SignOff.objects.get()
    assert (s.role, s.user_id, s.by_name) == ("cto", signers["cto"].pk, "cto")
    assert timezone.now() - s.at < timedelta(minutes=1)


def test_s4_a_replayed_form_is_refused_and_stores_nothing_twice(demo, signers, client):
    digest = shown_hash(demo)
    assert sign(client, signers["cto"], snapshot_hash=digest).status_code == 302
    replay = sign(client, signers["cto"], snapshot_hash=digest)
    assert replay.status_code == 409
    assert SignOff.objects.count() == 1


def test_s4_a_state_that_changed_since_the_form_is_refused_with_what_changed(demo, signers, client):
    digest = shown_hash(demo)
    c = Criterion.objects.get(launch=demo, key="redis-upgraded")
    from checklists.core.services import criterion_tick

    criterion_tick(c, checked=True, actor=signers["engineer"])
    response = sign(client, signers["cto"], snapshot_hash=digest)
    assert response.status_code == 409
    assert "redis-upgraded: pending → pass" in response.content.decode()
    assert SignOff.objects.count() == 0


def test_s4_a_form_older_than_its_kept_state_is_refused_without_a_list(demo, signers, client):
    from django.core.cache import caches

    digest = shown_hash(demo)
    caches["sections"].clear()  # the form's state has expired (kept an hour)
    c = Criterion.objects.get(launch=demo, key="redis-upgraded")
    from checklists.core.services import criterion_tick

    criterion_tick(c, checked=True, actor=signers["engineer"])
    response = sign(client, signers["cto"], snapshot_hash=digest)
    assert response.status_code == 409
    assert "changed since the form was shown" in response.content.decode()
    assert SignOff.objects.count() == 0


def test_s4_signing_needs_the_password_again(demo, signers, client):
    response = sign(client, signers["cto"], password="not my password")
    assert response.status_code == 403
    assert SignOff.objects.count() == 0


def test_s4_an_approval_goes_stale_when_the_state_regresses(demo, signers, client):
    from checklists.core.services import criterion_tick

    c = Criterion.objects.get(launch=demo, key="redis-upgraded")
    criterion_tick(c, checked=True, actor=signers["engineer"])
    assert sign(client, signers["cto"]).status_code == 302
    data = client.get("/api/launches/whatsapp-saas/").json()
    assert next(s for s in data["signoffs"] if s["role"] == "cto")["status"] == "approved"
    criterion_tick(c, checked=False, actor=signers["engineer"], reason="rolled back")
    data = client.get("/api/launches/whatsapp-saas/").json()
    cto = next(s for s in data["signoffs"] if s["role"] == "cto")
    assert cto["status"] == "stale"
    assert "CTO" in " ".join(data["blockers"]) or "cto" in " ".join(data["blockers"]).lower()


@pytest.mark.django_db(transaction=True)
def test_s4_concurrent_signoffs_of_one_state_leave_one_row(demo, django_user_model):
    from checklists.core.services import Conflict, signoff_record

    cto = user(django_user_model, "cto2", demo, "approver", "cto")
    digest = shown_hash(demo)
    outcomes = []

    def attempt(_):
        try:
            signoff_record(
                Launch.objects.get(pk=demo.pk),
                "cto",
                user=cto,
                decision="approved",
                comment="",
                shown_hash=digest,
            )
            outcomes.append("ok")
        except Conflict:
            outcomes.append("conflict")

    assert not at_once(attempt, 4)
    assert sorted(outcomes) == ["conflict"] * 3 + ["ok"]
    assert SignOff.objects.count() == 1


# --- waivers -----------------------------------------------------------------------------------
def test_a_waiver_by_an_approver_shows_waived_and_is_listed(demo, signers, client):
    from checklists.core.services import waiver_grant

    Task.objects.filter(launch=demo).update(status="done", done_at=timezone.now())
    run_ingest(demo, ROOT / "tests" / "fixtures" / "k6" / "peak_fail.ndjson", test="peak")
    Task.objects.filter(launch=demo, key="deploy-staging").update(
        done_at=timezone.now() - timedelta(days=3650)
    )
    state = client.get("/api/launches/whatsapp-saas/").json()
    c = next(x for x in state["criteria"] if x["key"] == "peak-p95")
    assert c["status"] == "fail"
    with pytest.raises(Exception):  # noqa: B017 - an engineer may not
        waiver_grant(
            demo,
            "peak-p95",
            user=signers["engineer"],
            reason="r",
            compensating_control="c",
            expires_at=timezone.now() + timedelta(days=1),
            current_status=c["status"],
            current_value=c["observed"],
        )
    waiver_grant(
        demo,
        "peak-p95",
        user=signers["cto"],
        reason="known slow endpoint",
        compensating_control="autoscaling",
        expires_at=timezone.now() + timedelta(days=1),
        current_status=c["status"],
        current_value=c["observed"],
    )
    state = client.get("/api/launches/whatsapp-saas/").json()
    c = next(x for x in state["criteria"] if x["key"] == "peak-p95")
    assert c["status"] == "waived"
    assert c["waiver"]["by"].startswith("cto")
    page = client.get("/launches/whatsapp-saas/").content.decode()
    assert "Waivers in force" in page and "autoscaling" in page


def test_a_waiver_revoked_twice_is_recorded_once(demo, signers, client):
    """A revoke form sent twice (a double click, a retry) adds nothing the second time."""
    from checklists.core.services import waiver_grant
    from checklists.models import Waiver

    waiver_grant(
        demo,
        "redis-upgraded",
        user=signers["cto"],
        reason="done by the vendor tonight",
        compensating_control="manual failover",
        expires_at=timezone.now() + timedelta(days=1),
        current_status="pending",
        current_value=None,
    )
    waiver = Waiver.objects.get()
    client.force_login(signers["cto"])
    for _ in range(2):
        response = client.post(f"/launches/whatsapp-saas/waivers/{waiver.pk}/revoke/")
        assert response.status_code == 302
    assert Event.objects.filter(launch=demo, kind="waiver.revoked").count() == 1


# --- S5 ----------------------------------------------------------------------------------------
def test_s5_tampering_with_an_audit_row_is_caught_by_verify_audit(demo):
    for i in range(4):
        with transaction.atomic():
            append_event(demo, kind="note", summary=f"note {i}")
    out = io.StringIO()
    call_command("verify_audit", "whatsapp-saas", stdout=out)
    assert "chain intact" in out.getvalue()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with pytest.raises(Exception, match="append-only"), transaction.atomic():
                cursor.execute(
                    "UPDATE checklists_event SET summary = 'x' WHERE launch_id = %s", [demo.pk]
                )
            # A superuser can switch triggers off; the chain still tells.
            cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(
            "UPDATE checklists_event SET summary = 'approved by nobody' "
            "WHERE launch_id = %s AND version = 3",
            [demo.pk],
        )
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = DEFAULT")
    with pytest.raises(CommandError, match="broken at event 3") as exc:
        call_command("verify_audit", "whatsapp-saas")
    assert exc.value.returncode == 1


@pytest.mark.django_db(transaction=True)
def test_s5_fifty_concurrent_appends_leave_one_linear_chain(demo):

    def append(i):
        with transaction.atomic():
            append_event(Launch.objects.get(pk=demo.pk), kind="note", summary=f"n{i}")

    assert not at_once(append, 50)
    events = list(Event.objects.filter(launch=demo).order_by("version"))
    assert [e.version for e in events] == list(range(1, 52))
    assert len({e.prev_hash for e in events}) == 51  # no fork: no two share a predecessor
    assert verify_chain(Launch.objects.get(pk=demo.pk))[0]


@pytest.mark.django_db(transaction=True)
def test_concurrent_looks_at_readiness_record_a_change_once(demo):
    """A sweep, a live sample and (misconfigured) a second beat may look at once (T8)."""
    from checklists.core.services import readiness_check

    readiness_check(demo.pk)
    state = Launch.objects.get(pk=demo.pk).readiness_state
    key = next(iter(state["criteria"]))
    was = {
        **state,
        "criteria": {
            **state["criteria"],
            key: "pass" if state["criteria"][key] != "pass" else "fail",
        },
    }
    Launch.objects.filter(pk=demo.pk).update(readiness_state=was)
    before = Event.objects.filter(launch=demo, kind="readiness.changed").count()
    assert not at_once(lambda _: readiness_check(demo.pk), 8)
    assert Event.objects.filter(launch=demo, kind="readiness.changed").count() == before + 1
    assert Launch.objects.get(pk=demo.pk).readiness_state == state


def test_s5_who_may_do_what_is_in_the_audit_trail_too(demo, client, django_user_model):
    """Roles, share links and API tokens change who can read or write: each change is an
    Event in the hash chain, with who made it."""
    from checklists.models import ApiToken, ShareLink

    admin = django_user_model.objects.create_user("ada")
    Membership.objects.create(launch=demo, user=admin, role="admin")
    django_user_model.objects.create_user("ann")
    client.force_login(admin)
    base = "/launches/whatsapp-saas"
    client.post(f"{base}/members/", {"username": "ann", "role": "approver", "signoff_role": "cto"})
    ann = Membership.objects.get(user__username="ann")
    client.post(f"{base}/members/", {"remove": ann.pk})
    client.post(f"{base}/share/", {"label": "board room"})
    client.post(f"{base}/share/", {"revoke": ShareLink.objects.get().pk})
    client.post(f"{base}/tokens/", {"name": "ci", "scopes": ["runs:write"], "days": "7"})
    client.post(f"{base}/tokens/", {"revoke": ApiToken.objects.get().pk})
    call_command("grant", "ann", "whatsapp-saas", "viewer", stdout=io.StringIO())
    events = list(
        Event.objects.filter(launch=demo)
        .exclude(kind="plan.imported")
        .order_by("version")
        .values_list("kind", "actor_name", "summary")
    )
    assert [(kind, actor) for kind, actor, _ in events] == [
        ("member.added", "ada"),
        ("member.removed", "ada"),
        ("share.created", "ada"),
        ("share.revoked", "ada"),
        ("token.created", "ada"),
        ("token.revoked", "ada"),
        ("member.added", "grant command"),
    ]
    assert events[0][2] == "ann made approver (cto)"
    assert verify_chain(Launch.objects.get(pk=demo.pk))[0]


def test_s5_the_audit_trail_exports_as_csv_and_json(demo, client):
    with transaction.atomic():
        append_event(demo, kind="note", summary='=HYPERLINK("http://evil")')
    data = client.get("/launches/whatsapp-saas/audit.json").json()
    assert [e["version"] for e in data["events"]] == [1, 2]
    csv_text = client.get("/launches/whatsapp-saas/audit.csv").content.decode()
    assert "'=HYPERLINK" in csv_text  # neutralised for spreadsheets


# --- S7 ----------------------------------------------------------------------------------------
def login(client, name, password, address="10.0.0.1"):
    return client.post(
        "/accounts/login/", {"username": name, "password": password}, REMOTE_ADDR=address
    )


def test_s7_five_failures_lock_the_account_from_that_address(db, django_user_model, client, caplog):
    user(django_user_model, "ann")
    caplog.set_level(logging.INFO)
    codes = [login(client, "ann", "wrong").status_code for _ in range(20)]
    assert codes[:4] == [200] * 4 and set(codes[4:]) == {429}  # the 5th failure locks
    assert login(client, "ann", PASSWORD).status_code == 429  # even the right password
    assert "_auth_user_id" not in client.session
    assert "wrong" not in caplog.text and PASSWORD not in caplog.text
    assert "failed sign-in as 'ann'" in caplog.text
    assert login(client, "ann", PASSWORD, address="10.0.0.2").status_code == 302


def test_s7_spraying_from_one_address_is_stopped(db, django_user_model, client):
    for i in range(10):
        user(django_user_model, f"u{i}")
    codes = [login(client, f"u{i}", "wrong").status_code for i in range(10)]
    assert codes[:4] == [200] * 4 and set(codes[4:]) == {429}  # the 5th failure locks


def test_s7_unknown_user_and_wrong_password_look_the_same(db, django_user_model, client):
    user(django_user_model, "ann")
    unknown = login(client, "nobody", "wrong", address="10.0.0.7")
    wrong = login(client, "ann", "wrong", address="10.0.0.8")
    assert unknown.status_code == wrong.status_code == 200
    strip = lambda r: r.content.decode().replace("nobody", "X").replace("ann", "X")  # noqa: E731
    assert (
        strip(unknown).split("csrfmiddlewaretoken")[0]
        == strip(wrong).split("csrfmiddlewaretoken")[0]
    )


# --- S8 ----------------------------------------------------------------------------------------
def test_s8_revoked_expired_unknown_and_url_tokens_are_refused(demo, client, caplog):
    caplog.set_level(logging.DEBUG)
    token, plain = token_create(demo, name="ci", scopes=["readiness:read"])
    auth = {"Authorization": f"Bearer {plain}"}
    assert client.get("/api/launches/whatsapp-saas/", headers=auth).status_code == 200
    token.refresh_from_db()
    assert token.last_used_at is not None
    assert client.get(f"/api/launches/whatsapp-saas/?token={plain}").status_code == 400
    assert client.get(f"/api/launches/whatsapp-saas/?access_token={plain}").status_code == 400
    token_revoke(token)
    assert client.get("/api/launches/whatsapp-saas/", headers=auth).status_code == 401
    expired, plain2 = token_create(
        demo, name="old", scopes=["readiness:read"], expires_in=timedelta(seconds=1)
    )
    type(expired).objects.filter(pk=expired.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    response = client.get(
        "/api/launches/whatsapp-saas/", headers={"Authorization": f"Bearer {plain2}"}
    )
    assert response.status_code == 401
    assert type(token).objects.filter(digest=plain).count() == 0  # only the hash is stored
    assert plain not in caplog.text and plain2 not in caplog.text
