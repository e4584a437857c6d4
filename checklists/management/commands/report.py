import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from checklists.board import report
from checklists.core import history
from checklists.models import Launch


class Command(BaseCommand):
    help = (
        "The launch's readiness report (and the go/no-go decision recorded on it) as Markdown "
        "or PDF, at the current version or a past one (--version N), rebuilt from the audit trail."
    )

    def create_parser(self, prog_name, subcommand, **kwargs):
        # --version N is this command's (a contract); Django's own --version gives way to it
        return super().create_parser(prog_name, subcommand, conflict_handler="resolve", **kwargs)

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--format", choices=["md", "pdf"], default="md")
        parser.add_argument("--version", type=int, help="a past version (default: the current)")
        parser.add_argument("--output", help="write here (default: stdout for md)")

    def handle(self, *args, slug, format, version, output, **options):
        launch = Launch.objects.filter(slug=slug).first()
        if launch is None:
            raise CommandError(f"no launch {slug!r}", returncode=2)
        if version is not None and not 1 <= version <= launch.version:
            raise CommandError(
                f"--version {version}: the launch has versions 1 to {launch.version}", returncode=2
            )
        if format == "pdf" and not output:
            raise CommandError("a PDF needs --output PATH", returncode=2)
        try:
            if format == "md":
                data = report.as_markdown(launch, version).encode()
            else:
                data = report.as_pdf(launch, version)
        except history.NotRecorded:
            raise CommandError(
                f"version {version or launch.version} was not recorded: it is older than time "
                "travel here",
                returncode=1,
            ) from None
        if output:
            Path(output).write_bytes(data)
            self.stderr.write(f"{output}: {len(data):,} bytes, version {version or launch.version}")
        else:
            sys.stdout.buffer.write(data)
            sys.stdout.flush()
