"""The production topology with its proxy (docker-compose.yml's `proxy`: nginx with
launchboard/deploy/launchboard.conf.template in front of uvicorn, PostgreSQL, Redis): anonymous
reads of a public launch are kept one second and served by nginx; a signed-in viewer, a token
or a private launch never touches the cache; changes still arrive (WebSocket through the proxy,
reads a second behind at most); uploads stream through."""

from __future__ import annotations

import asyncio
import json
import re
import time
import urllib.error
import urllib.request
from email.message import Message
from pathlib import Path

import pytest

from tests.support.production import production_stack
from tests.support.proxy import nginx_in_front
from tests.support.uploads import post_run
from tests.support.ws import LiveClient, wait_until

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent
PAGE, API = "/launches/whatsapp-saas/", "/api/launches/whatsapp-saas/"
TICK = (
    "from checklists.models import Criterion; from checklists.core.services import criterion_tick; "
    "c = Criterion.objects.get(launch__slug='whatsapp-saas', key='redis-upgraded'); "
    "print(criterion_tick(c, checked=True).launch.version)"
)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    with production_stack(worker=True) as stack:
        hidden = tmp_path_factory.mktemp("plans") / "hidden.yaml"
        plan = (ROOT / "checklists" / "plans" / "whatsapp-saas.yaml").read_text()
        plan = plan.replace("slug: whatsapp-saas", "slug: hidden-launch", 1)
        hidden.write_text(plan.replace("visibility: public", "visibility: private", 1))
        stack.manage("import_plan", str(hidden))
        out = stack.manage("create_token", "whatsapp-saas", "--scope", "runs:write").stdout
        stack.token = re.search(r"lb_[A-Za-z0-9_-]+", out).group(0)
        with nginx_in_front(stack.port) as proxy:
            stack.proxy = proxy
            yield stack


def get(url: str, headers: dict | None = None) -> tuple[int, Message, bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


def test_anonymous_reads_of_a_public_launch_are_served_by_the_proxy(site):
    for path in (PAGE, API, "/"):
        statuses = [get(site.proxy + path) for _ in range(3)]
        assert [s for s, _, _ in statuses] == [200, 200, 200]
        assert statuses[-1][1]["X-Cache"] == "HIT", (path, [h["X-Cache"] for _, h, _ in statuses])
        assert statuses[0][2] == statuses[-1][2]
        # the browser still revalidates every time; only a shared cache keeps it, a second
        assert statuses[-1][1]["Cache-Control"] == "max-age=0, s-maxage=1"
    _, headers, body = get(site.proxy + API)
    status, again, empty = get(site.proxy + API, {"If-None-Match": headers["ETag"]})
    assert (status, empty, again["X-Cache"]) == (304, b"", "HIT")  # a poller's 304, from nginx
    assert json.loads(body)["slug"] == "whatsapp-saas"


def test_a_signed_in_viewer_or_a_token_never_reads_or_fills_the_cache(site):
    get(site.proxy + PAGE)  # an anonymous copy is in the cache
    for headers in (
        {"Cookie": "sessionid=not-a-session"},
        {"Cookie": "csrftoken=x; __Host-sessionid=also-not"},
        {"Authorization": f"Bearer {site.token}"},
    ):
        _, answer, _ = get(site.proxy + PAGE, headers)
        assert answer["X-Cache"] == "BYPASS", headers
        assert answer["Cache-Control"] == "private, no-store", headers  # Django's own answer


def test_a_private_launch_is_never_kept(site):
    for path in ("/launches/hidden-launch/", "/api/launches/hidden-launch/"):
        answers = [get(site.proxy + path) for _ in range(3)]
        assert {status for status, _, _ in answers} == {404}
        assert {h.get("X-Cache") for _, h, _ in answers} <= {"MISS", None}, path
        assert all(b"WhatsApp" not in body for _, _, body in answers)
    status, _, body = get(site.proxy + "/api/launches/")
    assert status == 200 and b"hidden-launch" not in body


def test_a_change_reaches_open_pages_and_readers_through_the_proxy(site):
    async def scenario():
        page = LiveClient(site.proxy)
        page.start()
        try:
            before = json.loads(get(site.proxy + API)[2])["version"]
            assert await wait_until(lambda: page.version == before, 15)
            result = await asyncio.to_thread(site.manage, "shell", "-c", TICK)
            version = int(result.stdout.strip().splitlines()[-1])
            committed = time.monotonic()
            assert await wait_until(lambda: page.version == version, 10)  # the WebSocket
            seen = before
            while seen != version and time.monotonic() - committed < 10:
                seen = json.loads(get(site.proxy + API)[2])["version"]
                await asyncio.sleep(0.1)
            # a poller gets the new version a second or so later at most (the cache's life)
            return version, seen, time.monotonic() - committed
        finally:
            await page.stop()

    version, seen, after = asyncio.run(asyncio.wait_for(scenario(), 60))
    assert seen == version
    assert after < 5, after


def test_an_upload_streams_through_the_proxy(site):
    status, body = post_run(
        site.proxy, site.token, ROOT / "tests" / "fixtures" / "k6" / "peak_pass.summary-export.json"
    )
    assert status == 202, body
    status, body = post_run(
        site.proxy, "lb_wrong", ROOT / "tests" / "fixtures" / "k6" / "peak_pass.summary-export.json"
    )
    assert status == 401 and "error" in body
