"""In `make run`'s own server (embedded Celery worker and beat, not eager): a change made from
another process (a CLI command) reaches a webhook, signed, within the sweep's delay."""

from __future__ import annotations

import time

from tests.notifications.receivers import Receiver
from tests.support.server import running_server

SUBSCRIBE = (
    "from checklists.models import Launch; from notifications import services; "
    "s = services.subscription_create(launch=Launch.objects.get(slug='whatsapp-saas'), "
    "kind='webhook', target={url!r}); print(s.secret)"
)
TICK = (
    "from checklists.models import Criterion; from checklists.core.services import criterion_tick; "
    "criterion_tick(Criterion.objects.get(key='redis-upgraded'), checked=True)"
)


def test_a_change_from_the_cli_reaches_a_webhook_through_the_embedded_worker():
    with Receiver(secret="") as hook, running_server() as server:
        hook.secret = server.manage("shell", "-c", SUBSCRIBE.format(url=hook.url)).stdout.split()[
            -1
        ]
        server.manage("shell", "-c", TICK)
        deadline = time.monotonic() + 40
        while not hook.received and time.monotonic() < deadline:
            time.sleep(0.5)
        time.sleep(2)  # and nothing more comes of that one change
    assert hook.refused == 0
    assert len(hook.received) == 1, server.log.read_text()[-3000:]
    events = hook.received[0]["json"]["events"]
    assert [(e["key"], e["from"], e["to"]) for e in events] == [
        ("redis-upgraded", "pending", "pass")
    ]
