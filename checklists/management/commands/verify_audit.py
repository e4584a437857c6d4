from django.core.management.base import BaseCommand, CommandError

from checklists.events import verify_chain
from checklists.models import Launch


class Command(BaseCommand):
    help = "Recompute a launch's hash-chained event log; name the first broken link."

    def add_arguments(self, parser):
        parser.add_argument("slug")

    def handle(self, *args, slug, **options):
        launch = Launch.objects.filter(slug=slug).first()
        if launch is None:
            raise CommandError(f"no launch {slug!r}", returncode=2)
        ok, version, why = verify_chain(launch)
        if not ok:
            raise CommandError(
                f"{slug}: the audit trail is broken at event {version}: {why}", returncode=1
            )
        self.stdout.write(f"{slug}: {launch.version} event(s), chain intact")
