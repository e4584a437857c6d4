"""Django's flush, allowed past the evidence tables' TRUNCATE guard (checklists migration 0008):
an operator wiping a database on purpose, or the test runner between tests."""

from django.core.management.commands.flush import Command as DjangoFlush
from django.db import connections


class Command(DjangoFlush):
    def handle(self, **options):
        connection = connections[options["database"]]
        if connection.vendor != "postgresql":
            return super().handle(**options)
        with connection.cursor() as cursor:
            cursor.execute("SET launchboard.allow_truncate = 'on'")
        try:
            return super().handle(**options)
        finally:
            with connection.cursor() as cursor:
                cursor.execute("RESET launchboard.allow_truncate")
