"""The launch WebSocket through the real ASGI application: what arrives, and what must not."""

from __future__ import annotations

import asyncio

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.core.cache import caches
from django.test import Client

from checklists.core.services import criterion_tick
from checklists.engine.plan import load_plan
from checklists.models import Criterion, Launch
from checklists.realtime import broadcast, consumers
from checklists.realtime import hub as realtime
from launchboard.asgi import application
from tests.checklists.plans import sized_plan

pytestmark = pytest.mark.django_db(transaction=True)
ORIGIN = (b"origin", b"http://127.0.0.1:8000")


@pytest.fixture(autouse=True)
def clean_hub():
    from channels.layers import channel_layers

    caches["sections"].clear()
    realtime.reset()
    # Each test runs its own event loop: give it its own channel layer (a Redis layer's
    # connections belong to the loop that opened them).
    channel_layers.backends.clear()
    yield
    realtime.reset()
    channel_layers.backends.clear()
    caches["sections"].clear()


def run(coro):
    async def main():
        try:
            return await asyncio.wait_for(coro, 30)
        finally:  # end the hub and the layer's connections inside this test's own loop
            await realtime.stop()
            layer = get_channel_layer()
            if hasattr(layer, "close_pools"):
                await asyncio.wait_for(layer.close_pools(), 5)

    return asyncio.run(main())


def page(slug="whatsapp-saas", headers=(ORIGIN,)) -> WebsocketCommunicator:
    return WebsocketCommunicator(application, f"/ws/launches/{slug}/", headers=list(headers))


@database_sync_to_async
def tick(slug="whatsapp-saas", key="redis-upgraded", checked=True):
    c = Criterion.objects.get(launch__slug=slug, key=key)
    return criterion_tick(c, checked=checked, reason="test").launch.version


def test_a_page_gets_a_snapshot_then_only_what_changed(demo):
    async def scenario():
        comm = page()
        connected, _ = await comm.connect()
        assert connected
        snapshot = await comm.receive_json_from(timeout=10)
        assert (snapshot["type"], snapshot["version"]) == ("snapshot", demo.version)
        assert {"verdict", "checklist", "timeline", "risks", "signoffs"} <= set(
            snapshot["sections"]
        )
        version = await tick()
        update = await comm.receive_json_from(timeout=10)
        assert (update["type"], update["version"]) == ("update", version)
        assert "checklist" in update["sections"]
        assert "Redis upgraded to 6GB" in update["sections"]["checklist"]
        assert "timeline" not in update["sections"]  # unchanged sections are not resent
        await comm.disconnect()

    run(scenario())


def test_another_launchs_changes_never_arrive(demo):
    from checklists.core.services import plan_import

    plan_import(load_plan(sized_plan(5, "other")))

    async def scenario():
        comm = page()
        assert (await comm.connect())[0]
        await comm.receive_json_from(timeout=10)
        await tick("other", key="c0")
        assert await comm.receive_nothing(timeout=1.5)  # watcher included: it polls at 0.5 s
        await comm.disconnect()

    run(scenario())


def test_s6_a_foreign_or_missing_origin_is_refused(demo):
    async def scenario():
        for headers in ([(b"origin", b"http://evil.example")], [], [(b"origin", b"null")]):
            connected, _ = await page(headers=headers).connect()
            assert not connected

    run(scenario())


def test_an_unknown_launch_is_refused(db):
    async def scenario():
        assert not (await page("nope").connect())[0]

    run(scenario())


def cookie_of(client, user) -> bytes:
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


def test_s6_a_private_launch_admits_its_members_only(demo, client, django_user_model):
    from checklists.models import Membership

    Launch.objects.filter(pk=demo.pk).update(visibility="private")
    member = django_user_model.objects.create_user("ann")
    Membership.objects.create(launch=demo, user=member, role="viewer")
    outsider = cookie_of(client, django_user_model.objects.create_user("mallory"))
    insider = cookie_of(client, member)

    async def scenario():
        assert not (await page().connect())[0]  # anonymous
        assert not (await page(headers=(ORIGIN, (b"cookie", outsider))).connect())[0]
        comm = page(headers=(ORIGIN, (b"cookie", insider)))
        assert (await comm.connect())[0]
        assert (await comm.receive_json_from(timeout=10))["type"] == "snapshot"
        await comm.disconnect()

    run(scenario())


def test_a_change_that_never_reached_the_layer_arrives_through_the_event_log(demo, monkeypatch):
    # As when the change is made by another process (embedded mode) or Redis lost the nudge.
    monkeypatch.setattr(broadcast, "publish", lambda *a, **k: None)

    async def scenario():
        comm = page()
        assert (await comm.connect())[0]
        await comm.receive_json_from(timeout=10)
        version = await tick()
        update = await comm.receive_json_from(timeout=3)  # the watcher looks every 0.5 s
        assert update["version"] == version
        await comm.disconnect()

    run(scenario())


def test_a_page_that_asks_for_a_resync_gets_everything_again(demo):
    async def scenario():
        comm = page()
        assert (await comm.connect())[0]
        first = await comm.receive_json_from(timeout=10)
        await comm.send_json_to({"type": "resync"})
        again = await comm.receive_json_from(timeout=10)
        assert again["type"] == "snapshot"
        assert set(again["sections"]) == set(first["sections"])
        await comm.disconnect()

    run(scenario())


def test_bursts_coalesce_and_every_page_ends_at_the_last_version(demo):
    async def scenario():
        pages = [page() for _ in range(5)]
        for comm in pages:
            assert (await comm.connect())[0]
            await comm.receive_json_from(timeout=10)
        for i in range(6):
            last = await tick(checked=i % 2 == 0)
        for comm in pages:
            seen = []
            while not seen or seen[-1] < last:
                seen.append((await comm.receive_json_from(timeout=10))["version"])
            assert seen == sorted(seen) and len(seen) <= 6
            await comm.disconnect()

    run(scenario())


def test_s6_removing_a_role_closes_the_open_page(demo, client, django_user_model):
    from checklists.models import Membership

    Launch.objects.filter(pk=demo.pk).update(visibility="private")
    member = django_user_model.objects.create_user("ann")
    Membership.objects.create(launch=demo, user=member, role="viewer")
    cookie = cookie_of(client, member)

    async def scenario():
        comm = page(headers=(ORIGIN, (b"cookie", cookie)))
        assert (await comm.connect())[0]
        await comm.receive_json_from(timeout=10)
        await database_sync_to_async(Membership.objects.filter(user=member).delete)()
        closed = await comm.receive_output(timeout=realtime.RECHECK_S + 3)
        assert closed["type"] == "websocket.close"

    run(scenario())


def _private_with_viewer(demo, django_user_model):
    from checklists.models import Membership

    Launch.objects.filter(pk=demo.pk).update(visibility="private")
    viewer = django_user_model.objects.create_user("ann", password="an old password 1")
    admin = django_user_model.objects.create_user("ada")
    Membership.objects.create(launch=demo, user=admin, role="admin")
    return viewer, Membership.objects.create(launch=demo, user=viewer, role="viewer"), admin


def _remove_role(client, admin, membership, viewer):
    other = Client()
    other.force_login(admin)
    response = other.post("/launches/whatsapp-saas/members/", {"remove": membership.pk})
    assert response.status_code == 302


def _sign_out(client, admin, membership, viewer):
    assert client.post("/accounts/logout/").status_code in (200, 302)


def _disable(client, admin, membership, viewer):
    viewer.is_active = False
    viewer.save()


def _change_password(client, admin, membership, viewer):
    viewer.set_password("a new password 2")
    viewer.save()


@pytest.mark.parametrize(
    "change",
    [_remove_role, _sign_out, _disable, _change_password],
    ids=["role-removed", "signed-out", "account-disabled", "password-changed"],
)
def test_s6_losing_access_through_launchboard_closes_the_page_within_2_s(
    demo, client, django_user_model, change
):
    viewer, membership, admin = _private_with_viewer(demo, django_user_model)
    cookie = cookie_of(client, viewer)

    async def scenario():
        comm = page(headers=(ORIGIN, (b"cookie", cookie)))
        assert (await comm.connect())[0]
        await comm.receive_json_from(timeout=10)
        await asyncio.sleep(realtime.WATCH_INTERVAL_S * 2)  # the watcher has had its first look
        await database_sync_to_async(change)(client, admin, membership, viewer)
        started = asyncio.get_running_loop().time()
        while True:  # updates may come first (a role change is not a launch change)
            message = await comm.receive_output(timeout=2)
            if message["type"] == "websocket.close":
                break
        assert asyncio.get_running_loop().time() - started < 2
        assert message["code"] == 4403

    run(scenario())


def test_s6_a_launch_made_private_by_its_plan_closes_anonymous_pages_within_2_s(
    demo, demo_plan_text
):
    from checklists.core.services import plan_import

    private = demo_plan_text.replace("visibility: public", "visibility: private", 1)
    assert private != demo_plan_text

    async def scenario():
        comm = page()  # anonymous, allowed while the launch is public
        assert (await comm.connect())[0]
        await comm.receive_json_from(timeout=10)
        await asyncio.sleep(realtime.WATCH_INTERVAL_S * 2)
        await database_sync_to_async(plan_import)(load_plan(private, "whatsapp-saas.yaml"))
        started = asyncio.get_running_loop().time()
        while (message := await comm.receive_output(timeout=2))["type"] != "websocket.close":
            pass  # the re-import's own update may come first
        assert asyncio.get_running_loop().time() - started < 2
        assert message["code"] == 4403

    run(scenario())


def test_s6_a_page_that_floods_or_sends_garbage_is_closed(demo):
    async def scenario():
        for messages in (
            ['{"type": "resync"}'] * (consumers.MAX_CLIENT_MESSAGES_PER_S + 1),
            ['{"type": "resync", "pad": "' + "x" * 2000 + '"}'],
            ["not json"],
            ["[1, 2, 3]"],
        ):
            comm = page()
            assert (await comm.connect())[0]
            await comm.receive_json_from(timeout=10)
            for text in messages:
                await comm.send_to(text_data=text)
            while (message := await comm.receive_output(timeout=5))["type"] != "websocket.close":
                pass  # at most the one resync snapshot before the flood tips over
            assert message["code"] == 1008

    run(scenario())


def test_resyncs_within_a_second_cost_one_snapshot(demo):
    async def scenario():
        comm = page()
        assert (await comm.connect())[0]
        await comm.receive_json_from(timeout=10)
        for _ in range(3):
            await comm.send_json_to({"type": "resync"})
        assert (await comm.receive_json_from(timeout=10))["type"] == "snapshot"
        assert await comm.receive_nothing(timeout=0.5)
        await asyncio.sleep(0.6)
        await comm.send_json_to({"type": "resync"})
        assert (await comm.receive_json_from(timeout=10))["type"] == "snapshot"
        await comm.disconnect()

    run(scenario())


def test_a_share_link_opens_a_private_launch_until_it_is_revoked(demo, client):
    from checklists.core.tokens import digest_of
    from checklists.models import ShareLink

    Launch.objects.filter(pk=demo.pk).update(visibility="private")
    assert client.get("/launches/whatsapp-saas/").status_code == 404
    link = ShareLink.objects.create(launch=demo, label="board", digest=digest_of("s3cret-link"))
    response = client.get("/s/s3cret-link/")
    assert response.status_code == 302
    assert client.get("/launches/whatsapp-saas/").status_code == 200
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()

    async def scenario():
        comm = page(headers=(ORIGIN, (b"cookie", cookie)))
        assert (await comm.connect())[0]
        await comm.receive_json_from(timeout=10)
        await database_sync_to_async(ShareLink.objects.filter(pk=link.pk).update)(
            revoked_at=demo.created_at
        )
        closed = await comm.receive_output(timeout=realtime.RECHECK_S + 3)
        assert closed["type"] == "websocket.close"

    run(scenario())
    assert client.get("/launches/whatsapp-saas/").status_code == 404
    assert client.get("/s/s3cret-link/").status_code == 404


def test_parsing_progress_reaches_the_page(demo):
    from metrics.models import Run
    from metrics.signals import ingest_progress

    async def scenario():
        comm = page()
        assert (await comm.connect())[0]
        await comm.receive_json_from(timeout=10)
        await database_sync_to_async(ingest_progress.send)(
            sender=Run, launch_id=demo.pk, run_id=7, bytes=50, total=100, lines=1000, percent=50.0
        )
        message = await comm.receive_json_from(timeout=5)
        assert message == {
            "type": "progress",
            "version": demo.version,
            "run": 7,
            "bytes": 50,
            "total": 100,
            "lines": 1000,
            "percent": 50.0,
        }
        await comm.disconnect()

    run(scenario())
