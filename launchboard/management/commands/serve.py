import os

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

# A page sends only {"type": "resync"}: refuse big frames before they are buffered (uvicorn's
# default is 16 MiB); the consumer closes anything over 1 KiB anyway.
WS_MAX_SIZE = 64 * 1024


class Command(BaseCommand):
    help = (
        "Serve HTTP and WebSocket (uvicorn, or daphne with --server daphne); in embedded mode "
        "also the Celery worker and beat."
    )

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--server", choices=("uvicorn", "daphne"), default="uvicorn")
        parser.add_argument(
            "--workers",
            type=int,
            default=int(os.environ.get("WEB_WORKERS", "1")),
            help="web processes (uvicorn; production only: embedded mode is one process)",
        )
        parser.add_argument(
            "--demo",
            action="store_true",
            help="replay the seed's launch day on the demo launch if it has no runs yet",
        )

    def handle(self, *args, host, port, server, workers, demo, **options):
        if workers > 1 and (not settings.REDIS_URL or settings.EMBEDDED_WORKER):
            raise CommandError(
                "--workers above 1 needs REDIS_URL (the processes share the channel layer and the "
                "rendered pages through Redis) and no embedded worker."
            )
        if settings.EMBEDDED_WORKER:
            # optional parts, imported only when chosen: the embedded worker, daphne, uvicorn
            from launchboard.embedded import start_worker_and_beat

            start_worker_and_beat()
        mode = "embedded (SQLite, in-memory layer, in-process worker)"
        if settings.REDIS_URL:
            mode = "production (PostgreSQL/Redis)" if settings.DATABASE_URL else "Redis"
        self.stdout.write(f"Launchboard on http://{host}:{port}/ - {mode}. Ctrl-C stops it.")
        if demo:
            from launchboard.demo.story import start_in_background  # only when asked for

            start_in_background(self.stdout)
        if server == "daphne":
            from daphne.cli import CommandLineInterface  # only when asked for

            CommandLineInterface().run(
                ["-b", host, "-p", str(port), "--proxy-headers", "launchboard.asgi:application"]
            )
            return
        import uvicorn  # not before: daphne's path must not pay for it

        # uvicorn: measured faster than daphne at pushing to hundreds of pages
        # (docs/benchmarks/realtime.md); it also hands every request body to the application.
        uvicorn.run(
            "launchboard.asgi:application",
            host=host,
            port=port,
            workers=workers,
            proxy_headers=True,
            ws_per_message_deflate=False,
            ws_max_size=WS_MAX_SIZE,
            log_level="warning",  # not a line per page opened; ours says where it listens
            access_log=False,
        )
