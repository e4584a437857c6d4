"""Issue 14's watch after GO, in Chromium against the real server: a launch reaches GO, an
engineer takes it live and ramps it up stage by stage, a CloudWatch alarm (moto's server)
goes to ALARM, and every open page — a stakeholder's phone too — turns to ROLL BACK with the
reason, without a reload; the engineer records the rollback."""

from __future__ import annotations

import time

import boto3
import pytest

from tests.browser.test_phone_and_people import PHONE, assert_fits, sign_in
from tests.checklists.core.test_rollout import PLAN, alarm
from tests.notifications.receivers import Receiver
from tests.support.browser import PASSWORD, chromium
from tests.support.moto_server import running_moto_server
from tests.support.server import running_server

pytestmark = pytest.mark.browser
SHOP = "/launches/shop/"


def test_go_live_ramp_up_and_a_trigger_turns_every_page_to_roll_back(tmp_path):
    plan = tmp_path / "shop.yaml"
    # public, so a stakeholder reads it without an account; stages that hold for 2 s
    plan.write_text(
        PLAN.replace("  name: Shop go-live\n", "  name: Shop go-live\n  visibility: public\n")
        .replace("hold: 1s", "hold: 2s")
        .replace("  - {key: full, title: All traffic, traffic: 100}", HALF_AND_FULL)
    )
    with running_moto_server() as moto, Receiver(secret="") as hook:
        env = {
            "AWS_REGION": "eu-west-1",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "LAUNCHBOARD_AWS_ENDPOINT_URL": moto.url,
        }
        cloudwatch = boto3.client(
            "cloudwatch",
            region_name="eu-west-1",
            endpoint_url=moto.url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        alarm(cloudwatch, "OK")
        with running_server(extra_env=env, demo=False) as server:
            server.manage("import_plan", str(plan))
            server.manage(
                "shell",
                "-c",
                "from django.contrib.auth.models import User; "
                f"User.objects.create_user('eve', password={PASSWORD!r})",
            )
            server.manage("grant", "eve", "shop", "engineer")
            hook.secret = server.manage(
                "shell", "-c", SUBSCRIBE.format(url=hook.url)
            ).stdout.split()[-1]
            server.manage("collect", "--launch", "shop")
            with chromium() as browser:
                eve = sign_in(
                    browser.new_context(viewport={"width": 1366, "height": 900}),
                    server,
                    "eve",
                    SHOP,
                )
                stakeholder = browser.new_context(**PHONE).new_page()
                stakeholder.goto(server.url + SHOP)
                stakeholder.evaluate("() => { window.__notReloaded = true; }")

                # Not GO yet: going live is refused on the page.
                assert eve.is_disabled("#sec-golive form[action$='rollout/start/'] button")
                assert (
                    "Launch window: 2030-01-01 09:00 \u2013 2030-01-01 11:00"
                    in eve.text_content("#sec-golive .window")
                )
                eve.click("#criterion-smoke form.tick button")
                eve.wait_for_selector("#sec-verdict.verdict-go")
                eve.click("#sec-golive form[action$='rollout/start/'] button")
                eve.wait_for_selector("#sec-verdict.watch-live")
                assert "Live: 10% of traffic, all clear." in eve.text_content("#sec-verdict")
                clock = eve.text_content("#sec-verdict .watch-clock")
                assert clock.startswith("Monitoring 0 min of 24 h, 24 h to go"), clock
                stakeholder.wait_for_selector("#sec-verdict.watch-live")

                # Ramp up: refused until the stage has held, then 50%, then 100%.
                advance = "#sec-golive form[action$='rollout/advance/'] button"
                eve.wait_for_timeout(2100)
                eve.reload()
                eve.click(advance)
                eve.wait_for_function(
                    "() => document.querySelector('#sec-verdict').textContent.includes('50%')"
                )
                eve.wait_for_timeout(2100)
                eve.reload()
                eve.click(advance)
                eve.wait_for_function(
                    "() => document.querySelector('#sec-verdict').textContent.includes('100%')"
                )
                assert eve.locator("#sec-golive .stage-done").count() == 2

                # The alarm fires: every page turns to ROLL BACK, with the reason.
                alarm(cloudwatch, "ALARM")
                server.manage("collect", "--launch", "shop")
                for page in (eve, stakeholder):
                    page.wait_for_selector("#sec-verdict.watch-rollback", timeout=15000)
                    said = page.text_content("#sec-verdict")
                    assert "ROLL BACK" in said and "Alarm api-5xx is OK" in said
                    assert page.is_visible("#sec-golive .rollback-plan[open]")
                assert stakeholder.evaluate("() => window.__notReloaded === true")
                assert_fits(stakeholder, "status page at ROLL BACK")
                assert stakeholder.is_hidden("#sec-golive form.rollout-end")

                # ... and the webhook is told, signed, with the reason.
                rollback = told(hook, "rollback.fired")
                assert rollback["title"].startswith("Shop go-live: ROLL BACK: Alarm api-5xx is OK")
                assert hook.refused == 0

                # The engineer records the rollback.
                eve.fill("#sec-golive form.rollout-end input[name=reason]", "5xx from v1.0.0")
                eve.click("#sec-golive form.rollout-end button[value=rolled_back]")
                eve.wait_for_selector("#sec-verdict.watch-rolled_back")
                assert "ROLLED BACK" in eve.text_content("#sec-verdict .verdict-word")


HALF_AND_FULL = """  - {key: half, title: Half, traffic: 50, hold: 2s}
    - {key: full, title: All traffic, traffic: 100}"""

SUBSCRIBE = (
    "from checklists.models import Launch; from notifications import services; "
    "s = services.subscription_create(launch=Launch.objects.get(slug='shop'), "
    "kind='webhook', target={url!r}); print(s.secret)"
)


def told(hook, kind: str, timeout: float = 40) -> dict:
    """The first message the webhook received that tells of an event of ``kind``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for post in list(hook.received):
            message = post["json"]
            if any(e.get("type") == kind for e in message.get("events", [])):
                return message
        time.sleep(0.5)
    raise AssertionError(f"no message of {kind}: {[p['json'] for p in hook.received]}")
