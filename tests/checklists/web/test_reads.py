"""Reads cost one render per change, not per request (issue 9): the status page, the readiness
JSON and the launch list are served from bytes rendered once per launch version, anonymous
reads of public launches without Django, everything else through Django without running the
engine; ETag and 304 for pollers; private launches stay private."""

from __future__ import annotations

import asyncio

import pytest
from channels.db import database_sync_to_async
from django.db import connection
from django.dispatch import Signal
from django.test.utils import CaptureQueriesContext

from checklists.board import sections
from checklists.core.services import criterion_tick, plan_import, share_link_create
from checklists.engine import readiness
from checklists.engine.plan import load_plan
from checklists.models import Criterion, Launch, Membership
from checklists.realtime import hub as realtime
from launchboard.asgi import application
from tests.checklists.plans import sized_plan
from tests.support.asgi import QueryCounter, request

PAGE = "/launches/whatsapp-saas/"
API = "/api/launches/whatsapp-saas/"


@pytest.fixture
def counted(monkeypatch):
    """How often the launch is evaluated (the engine) and rendered (sections)."""
    calls = {"evaluate": 0, "render": 0}
    evaluate, render = readiness.evaluate, sections.render_sections

    def counting_evaluate(*args, **kwargs):
        calls["evaluate"] += 1
        return evaluate(*args, **kwargs)

    def counting_render(*args, **kwargs):
        calls["render"] += 1
        return render(*args, **kwargs)

    monkeypatch.setattr(readiness, "evaluate", counting_evaluate)
    monkeypatch.setattr(sections, "render_sections", counting_render)
    return calls


@pytest.fixture
def hub(monkeypatch):
    """A hub whose watcher does not look on its own during the test (looks are counted)."""
    monkeypatch.setattr(realtime, "WATCH_INTERVAL_S", 3600)
    realtime.reset()
    yield realtime
    realtime.reset()


def run(coro):
    async def main():
        try:
            return await asyncio.wait_for(coro, 60)
        finally:
            await realtime.stop()

    return asyncio.run(main())


# --- through Django (signed-in viewers, tokens) ---------------------------------------------------
def test_a_hundred_signed_in_views_at_one_version_render_once_and_never_run_the_engine(
    demo, client, django_user_model, counted
):
    user = django_user_model.objects.create_user("eng", password="a long password here")
    Membership.objects.create(launch=demo, user=user, role=Membership.Role.ENGINEER)
    client.force_login(user)
    first = client.get(PAGE)
    assert first.status_code == 200
    assert counted == {"evaluate": 1, "render": 1}  # nothing was rendered yet in this test
    with CaptureQueriesContext(connection) as queries:
        for _ in range(100):
            response = client.get(PAGE)
            assert response.status_code == 200
            assert 'data-needs~="edit"' in response.text  # this viewer's own controls
    assert counted == {"evaluate": 1, "render": 1}
    # session, user, launch, membership: nothing that grows with the plan or reads evidence
    assert len(queries) / 100 <= 4
    tables = {q["sql"].split('FROM "')[1].split('"')[0] for q in queries if 'FROM "' in q["sql"]}
    assert tables <= {
        "django_session",
        "auth_user",
        "checklists_launch",
        "checklists_membership",
    }


def test_a_signed_in_page_and_an_anonymous_page_show_the_same_board(
    demo, client, django_user_model
):
    anonymous = client.get(PAGE).text
    user = django_user_model.objects.create_user("eng", password="a long password here")
    client.force_login(user)
    signed_in = client.get(PAGE).text
    board = sections.current(demo.pk).board
    assert board in anonymous and board in signed_in
    assert "Sign in" in anonymous and "eng" in signed_in and "Sign out" in signed_in


def test_a_change_renders_once_for_every_reader(
    demo, client, counted, django_capture_on_commit_callbacks
):
    client.get(API)
    before = dict(counted)
    c = Criterion.objects.get(launch=demo, key="redis-upgraded")
    with django_capture_on_commit_callbacks(execute=True):
        version = criterion_tick(c, checked=True, reason="t").launch.version
    assert counted["render"] == before["render"] + 1  # by the writer, after commit
    for _ in range(50):
        assert client.get(API).json()["version"] == version
    assert counted["render"] == before["render"] + 1


def test_the_query_count_of_a_read_does_not_grow_with_the_plan(db, client):
    for n, slug in ((10, "small"), (300, "large")):
        plan_import(load_plan(sized_plan(n, slug)))
        client.get(f"/api/launches/{slug}/")  # rendered once
    counts = []
    for slug in ("small", "large"):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(f"/api/launches/{slug}/").status_code == 200
            assert client.get(f"/launches/{slug}/").status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1] <= 4


# --- ETag, 304, ?version= ---------------------------------------------------------------------
def test_a_poller_that_sends_the_etag_back_gets_304_until_something_changes(
    demo, client, django_capture_on_commit_callbacks
):
    first = client.get(API)
    etag = first["ETag"]
    assert etag.startswith(f'"{demo.version}-')
    again = client.get(API, HTTP_IF_NONE_MATCH=etag)
    assert (again.status_code, again.content, again["ETag"]) == (304, b"", etag)
    c = Criterion.objects.get(launch=demo, key="redis-upgraded")
    with django_capture_on_commit_callbacks(execute=True):
        criterion_tick(c, checked=True, reason="t")
    changed = client.get(API, HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200
    assert changed.json()["version"] == demo.version + 1
    assert changed["ETag"] != etag


def test_a_token_poller_gets_304_too(demo, client):
    from checklists.core.tokens import token_create

    _, plain = token_create(demo, name="ci", scopes=["readiness:read"], created_by="t")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {plain}"}
    etag = client.get(API, **auth)["ETag"]
    with CaptureQueriesContext(connection) as queries:
        response = client.get(API, HTTP_IF_NONE_MATCH=etag, **auth)
    assert response.status_code == 304
    assert response["Cache-Control"] == "private, no-store"
    assert len(queries) <= 2  # the launch and the token: no engine, no evidence


def test_version_pins_the_answer_to_a_version(demo, client):
    assert client.get(API, {"version": demo.version}).json()["version"] == demo.version
    ahead = client.get(API, {"version": demo.version + 5})
    assert ahead.status_code == 404
    assert ahead.json()["error"].startswith(f"version {demo.version + 5} does not exist yet")
    assert client.get(API, {"version": "x"}).status_code == 400


# --- before Django: anonymous reads of public launches ---------------------------------------
@pytest.mark.django_db(transaction=True)
def test_a_hundred_anonymous_reads_at_one_version_cost_no_query_and_no_render(
    demo, hub, counted, monkeypatch
):
    async def scenario():
        first = await request(application, PAGE)
        api = await request(application, API)
        assert (first.status, api.status) == (200, 200)
        renders, answered = dict(counted), application.answered
        queries = QueryCounter(monkeypatch)
        for _ in range(100):
            page = await request(application, PAGE)
            data = await request(application, API)
            assert (page.body, data.body) == (first.body, api.body)
        assert queries.count == 0
        assert counted == renders
        assert application.answered == answered + 200
        return first, api

    page, api = run(scenario())
    assert counted["evaluate"] <= 1 and counted["render"] <= 1
    assert b"Go-live decision tree" in page.body
    assert page.headers["etag"].startswith(f'"{demo.version}-')
    assert api.headers["content-type"] == "application/json"


@pytest.mark.django_db(transaction=True)
def test_an_anonymous_poller_gets_304_without_a_query(demo, hub, monkeypatch):
    async def scenario():
        first = await request(application, API)
        etag = first.headers["etag"]
        queries = QueryCounter(monkeypatch)
        again = await request(application, API, headers=[(b"if-none-match", etag.encode())])
        pinned = await request(application, API, query=f"version={demo.version}".encode())
        return again, pinned, queries.count, etag

    again, pinned, count, etag = run(scenario())
    assert (again.status, again.body, again.headers["etag"], count) == (304, b"", etag, 0)
    assert pinned.status == 200 and pinned.json()["version"] == demo.version


@pytest.mark.django_db(transaction=True)
def test_the_fast_answer_is_what_django_answers(demo, hub):
    """Same bytes and the same security headers as Django's own answer to the same page."""

    async def scenario():
        fast = await request(application, PAGE)
        # A cookie that names a session (unknown here) sends the request through Django.
        slow = await request(application, PAGE, headers=[(b"cookie", b"sessionid=nothing")])
        fast_api = await request(application, API)
        slow_api = await request(application, API, query=b"v=1")  # unknown query: Django
        return fast, slow, fast_api, slow_api

    fast, slow, fast_api, slow_api = run(scenario())
    assert fast.body == slow.body
    assert fast_api.body == slow_api.body
    for name in (
        "content-type",
        "x-frame-options",
        "content-security-policy",
        "permissions-policy",
        "cross-origin-resource-policy",
        "x-content-type-options",
        "referrer-policy",
        "cross-origin-opener-policy",
    ):
        assert fast.headers[name] == slow.headers[name], name
    assert len(fast.headers["x-request-id"]) == 16 and "set-cookie" not in fast.headers


@pytest.mark.django_db(transaction=True)
def test_a_phone_gets_the_page_compressed(demo, hub):
    import gzip

    async def scenario():
        plain = await request(application, PAGE)
        zipped = await request(application, PAGE, headers=[(b"accept-encoding", b"gzip, br")])
        head = await request(application, PAGE, method="HEAD")
        return plain, zipped, head

    plain, zipped, head = run(scenario())
    assert zipped.headers["content-encoding"] == "gzip"
    assert gzip.decompress(zipped.body) == plain.body
    assert len(zipped.body) < len(plain.body) / 3
    assert (head.status, head.body, head.headers["content-length"]) == (
        200,
        b"",
        str(len(plain.body)),
    )


@pytest.mark.django_db(transaction=True)
def test_the_launch_list_for_anonymous_readers_shows_public_launches_only(demo, hub, client):
    plan_import(
        load_plan(sized_plan(3, "hidden").replace("visibility: public", "visibility: private"))
    )

    async def scenario():
        return await request(application, "/api/launches/"), await request(application, "/")

    data, html = run(scenario())
    assert data.json() == client.get("/api/launches/").json()
    assert [row["slug"] for row in data.json()["launches"]] == ["whatsapp-saas"]
    assert b"WhatsApp SaaS backend go-live" in html.body and b"hidden" not in html.body


# --- private launches stay private -------------------------------------------------------------
@pytest.fixture
def private(db):
    text = sized_plan(5, "secret").replace("visibility: public", "visibility: private")
    return plan_import(load_plan(text)).launch


@pytest.mark.django_db(transaction=True)
def test_a_private_launch_is_never_answered_to_an_anonymous_reader(private, hub, client):
    async def scenario():
        return [
            await request(application, f"/launches/{private.slug}/"),
            await request(application, f"/api/launches/{private.slug}/"),
        ]

    for answer in run(scenario()):
        assert answer.status == 404
        assert b"Sized 5" not in answer.body


@pytest.mark.django_db(transaction=True)
def test_a_share_link_holder_reads_a_private_launch_through_django_and_others_still_cannot(
    private, hub, client, django_user_model
):
    admin = django_user_model.objects.create_superuser("root", password="a long password here")
    secret = share_link_create(private, label="board", actor=admin)
    assert client.get(f"/s/{secret}/").status_code == 302
    session = client.cookies["sessionid"].value
    cookie = [(b"cookie", f"sessionid={session}".encode())]

    async def scenario():
        shared = await request(application, f"/launches/{private.slug}/", headers=cookie)
        stranger = await request(application, f"/launches/{private.slug}/")
        return shared, stranger

    shared, stranger = run(scenario())
    assert shared.status == 200 and b"Sized 5" in shared.body
    assert shared.headers["cache-control"] == "private, no-store"
    assert stranger.status == 404 and b"Sized 5" not in stranger.body


@pytest.mark.django_db(transaction=True)
def test_a_launch_made_private_stops_being_answered_anonymously_at_once(demo, hub, demo_plan_text):
    async def scenario():
        assert (await request(application, PAGE)).status == 200
        await database_sync_to_async(plan_import)(
            load_plan(demo_plan_text.replace("visibility: public", "visibility: private"))
        )
        # The change's own nudge (in-memory layer) reaches the hub; give it a moment, no more.
        for _ in range(50):
            answer = await request(application, PAGE)
            if answer.status == 404:
                return answer
            await asyncio.sleep(0.02)
        return answer

    answer = run(scenario())
    assert answer.status == 404
    assert Launch.objects.get(pk=demo.pk).visibility == "private"


@pytest.mark.django_db(transaction=True)
def test_a_change_made_in_another_process_reaches_readers_on_the_next_look(demo, monkeypatch):
    """A CLI command beside `make run` nudges no one in the server: the hub's look finds the
    new version and readers get it."""
    realtime.reset()

    async def scenario():
        assert (await request(application, API)).json()["version"] == demo.version
        # As another process would: commit a change this process neither renders nor hears of.
        monkeypatch.setattr("checklists.core.events.launch_changed", Signal())  # no listener
        version = await database_sync_to_async(
            lambda: (
                criterion_tick(
                    Criterion.objects.get(launch=demo, key="redis-upgraded"),
                    checked=True,
                    reason="t",
                ).launch.version
            )
        )()
        for _ in range(100):
            data = (await request(application, API)).json()
            if data["version"] == version:
                return data, version
            await asyncio.sleep(0.05)
        return data, version

    data, version = run(scenario())
    assert data["version"] == version


@pytest.mark.django_db(transaction=True)
def test_behind_https_plain_http_is_left_to_django_and_https_gets_hsts(demo, hub):
    """Plain HTTP where HTTPS is required is Django's to redirect (its SecurityMiddleware);
    the fast path answers only what arrived over HTTPS, with the same HSTS header."""
    from django.test import override_settings

    from checklists.web.fastreads import FastReads

    with override_settings(
        SECURE_SSL_REDIRECT=True,
        SECURE_HSTS_SECONDS=31536000,
        SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https"),
    ):
        app = FastReads(application.app)

        async def scenario():
            plain = await request(app, PAGE)
            proxied = await request(app, PAGE, headers=[(b"x-forwarded-proto", b"https")])
            return plain, proxied

        plain, proxied = run(scenario())
    assert "strict-transport-security" not in plain.headers
    assert plain.headers["cache-control"] == "private, no-store"  # Django's answer, not ours
    assert app.answered == 1  # the proxied one
    assert proxied.status == 200
    assert proxied.headers["strict-transport-security"].startswith("max-age=31536000")
