import os

from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Serve HTTP and WebSocket with daphne; in embedded mode also the Celery worker and beat."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))

    def handle(self, *args, host, port, **options):
        from daphne.cli import CommandLineInterface

        if settings.EMBEDDED_WORKER:
            from launchboard.embedded import start_worker_and_beat

            start_worker_and_beat()
        mode = "embedded (SQLite, in-memory layer, in-process worker)"
        if settings.REDIS_URL:
            mode = "production (PostgreSQL/Redis)" if settings.DATABASE_URL else "Redis"
        self.stdout.write(f"Launchboard on http://{host}:{port}/ - {mode}. Ctrl-C stops it.")
        CommandLineInterface().run(
            ["-b", host, "-p", str(port), "--proxy-headers", "launchboard.asgi:application"]
        )
