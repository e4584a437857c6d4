"""HTTP and WebSocket entry point (daphne or uvicorn)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "launchboard.settings")
django_asgi_app = get_asgi_application()

from launchboard import redact  # noqa: E402

redact.install()  # the server's access log prints paths and queries: cut the secrets out

from channels.auth import AuthMiddlewareStack  # noqa: E402  (needs Django set up first)
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402

from checklists.routing import websocket_urlpatterns  # noqa: E402
from checklists.web.fastreads import FastReads  # noqa: E402
from checklists.web.upload_stream import StreamedUploads  # noqa: E402
from launchboard.admission import Admission  # noqa: E402
from launchboard.limits import BodyLimit  # noqa: E402

# Anonymous reads of public launches are answered from the rendered bytes first (fastreads:
# most of launch day's requests, so the fewest layers); a body over its limit (an upload's or a
# form's) is refused before anything spools it (limits); the rest waits its turn for Django
# (admission), API uploads streamed to disk and parsed while they arrive rather than read whole
# by Django first (upload_stream).
http = BodyLimit(
    Admission(
        StreamedUploads(django_asgi_app),
        slots=settings.WEB_SLOTS,
        upload_slots=settings.UPLOAD_SLOTS,
        queue=settings.WEB_QUEUE,
        wait_s=settings.WEB_QUEUE_SECONDS,
    )
)
application = FastReads(
    ProtocolTypeRouter(
        {
            "http": http,
            "websocket": AllowedHostsOriginValidator(
                AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
            ),
        }
    )
)
