from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from checklists.engine.markdown_plan import NotAPlan, markdown_draft, markdown_text


class Command(BaseCommand):
    help = (
        "Draft a plan YAML from a markdown action plan (printed, or written to --output) for "
        "review; nothing is imported. Lines it could not read go to stderr as PATH:LINE: reason."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="the markdown action plan")
        parser.add_argument("--output", "-o", help="write the draft here instead of stdout")
        parser.add_argument(
            "--slug", default="", help="the launch's slug (default: from its title)"
        )

    def handle(self, *args, path, output=None, slug="", **options):
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise CommandError(f"{path}: cannot read it ({exc.strerror})", returncode=2) from None
        try:
            draft = markdown_draft(markdown_text(data, path), path, slug=slug)
        except NotAPlan as exc:
            raise CommandError(str(exc), returncode=2) from None
        for skipped in draft.skipped:
            self.stderr.write(f"{path}:{skipped.line}: {skipped.reason}")
        if output:
            Path(output).write_text(draft.yaml, encoding="utf-8")
            plan = draft.plan
            self.stderr.write(
                f"{output}: draft of {plan.launch.slug!r} with {len(plan.tasks)} task(s), "
                f"{len(plan.criteria)} criteria, {len(plan.risks)} risk(s); "
                f"{len(draft.skipped)} line(s) skipped. Review it, then: import_plan {output}"
            )
        else:
            self.stdout.write(draft.yaml, ending="")
