from django.core.management.base import BaseCommand, CommandError

from checklists.core.selectors import launch_with_plan, plan_export
from checklists.engine.plan import dump_plan
from checklists.models import Launch


class Command(BaseCommand):
    help = "Print a launch's plan as YAML; importing it back changes nothing."

    def add_arguments(self, parser):
        parser.add_argument("slug")

    def handle(self, *args, slug, **options):
        try:
            launch = launch_with_plan(slug=slug)
        except Launch.DoesNotExist:
            raise CommandError(f"no launch {slug!r}", returncode=2) from None
        self.stdout.write(dump_plan(plan_export(launch)), ending="")
