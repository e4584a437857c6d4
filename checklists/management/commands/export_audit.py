import orjson
from django.core.management.base import BaseCommand, CommandError

from checklists.core.events import audit_csv, audit_rows
from checklists.models import Launch


class Command(BaseCommand):
    help = "A launch's event log (the audit trail) as CSV or JSON on stdout."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--format", choices=("csv", "json"), default="csv", dest="fmt")

    def handle(self, *args, slug, fmt, **options):
        launch = Launch.objects.filter(slug=slug).first()
        if launch is None:
            raise CommandError(f"no launch {slug!r}", returncode=2)
        rows = audit_rows(launch)
        if fmt == "json":
            data = {"launch": slug, "events": rows}
            self.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode())
            return
        self.stdout.write(audit_csv(rows), ending="")
