from django.core.management.base import BaseCommand, CommandError

from checklists.core.copies import launch_copy
from checklists.core.services import ChangeRefused
from checklists.models import Launch


class Command(BaseCommand):
    help = (
        "Start a new launch from an earlier launch's plan: the same tasks, criteria, risks, "
        "tests, sources, decision and sign-off roles; every task to do, no ticks, runs, "
        "sign-offs, waivers or events of the old one."
    )

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="source", required=True, help="the earlier launch")
        parser.add_argument("--slug", required=True, help="the new launch's slug")
        parser.add_argument("--name", required=True, help="the new launch's name")

    def handle(self, *args, source, slug, name, **options):
        earlier = Launch.objects.filter(slug=source).first()
        if earlier is None:
            raise CommandError(f"no launch {source!r}", returncode=2)
        try:
            result = launch_copy(earlier, slug=slug, name=name)
        except ChangeRefused as exc:
            raise CommandError(str(exc), returncode=2) from None
        launch = result.launch
        self.stdout.write(
            f"{launch.slug}: created from the plan of {earlier.slug}, version {launch.version}"
        )
