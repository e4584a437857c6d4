from django.core.management.base import BaseCommand, CommandError

from checklists.core.verification import verify
from checklists.models import Launch


class Command(BaseCommand):
    help = (
        "Prove a launch's audit trail: the keyed hash chain, its newest signed checkpoint "
        "outside the database, and the sign-offs, waivers and ticks against the events."
    )

    def add_arguments(self, parser):
        parser.add_argument("slug")

    def handle(self, *args, slug, **options):
        launch = Launch.objects.filter(slug=slug).first()
        if launch is None:
            raise CommandError(f"no launch {slug!r}", returncode=2)
        found = verify(launch)
        for note in found.notes:
            self.stdout.write(f"{slug}: note: {note}")
        if not found.ok:
            for problem in found.problems:
                self.stderr.write(f"{slug}: {problem}")
            more = len(found.problems) - 1
            raise CommandError(
                f"{slug}: the audit trail does not prove the launch's state: "
                f"{found.problems[0]}" + (f" (and {more} more above)" if more else ""),
                returncode=1,
            )
        self.stdout.write(
            f"{slug}: {found.events} event(s), chain intact; sign-offs, waivers and ticks "
            "match their events"
        )
