import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from checklists.core.services import plan_import
from checklists.engine.plan import PlanError, load_plan


class Command(BaseCommand):
    help = "Create or update a launch from a YAML plan (keeps ticks, task status, runs, sign-offs)."

    def add_arguments(self, parser):
        parser.add_argument("path", help="the plan file (YAML); - for stdin")

    def handle(self, *args, path, **options):
        text, name = self._read(path)
        try:
            spec = load_plan(text, name)
        except PlanError as exc:
            raise CommandError(str(exc), returncode=2) from None
        result = plan_import(spec, actor_name=f"import_plan {name}")
        slug = result.launch.slug
        if not result.changed:
            self.stdout.write(f"{slug}: unchanged (version {result.launch.version})")
            return
        verb = "created" if result.created else "updated"
        self.stdout.write(
            f"{slug}: {verb}, {len(result.changes)} change(s), version {result.launch.version}"
        )
        for change in result.changes if not result.created else []:
            self.stdout.write(f"  {change}")

    def _read(self, path):
        if path == "-":
            return sys.stdin.read(), "<stdin>"
        try:
            return Path(path).read_text(encoding="utf-8"), path
        except FileNotFoundError:
            raise CommandError(f"{path}: no such file", returncode=2) from None
        except UnicodeDecodeError as exc:
            raise CommandError(f"{path}:1: not UTF-8 text ({exc.reason})", returncode=2) from None
