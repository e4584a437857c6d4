import orjson
from django.core.management.base import BaseCommand, CommandError

from checklists.board.presenters import readiness_json
from checklists.core.selectors import board_for_slug
from checklists.models import Launch

EXIT_CODES = {"GO": 0, "NO_GO": 3, "PENDING": 4}


class Command(BaseCommand):
    help = "The launch's verdict and blockers. --exit-code: 0 GO, 3 NO_GO, 4 PENDING."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--json", action="store_true", help="print the readiness JSON")
        parser.add_argument("--exit-code", action="store_true", help="exit 0/3/4 by verdict")

    def handle(self, *args, slug, json, exit_code, **options):
        try:
            board = board_for_slug(slug)
        except Launch.DoesNotExist:
            raise CommandError(f"no launch {slug!r}", returncode=2) from None
        data = readiness_json(board)
        if json:
            self.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode())
        else:
            self._print(data)
        if exit_code and data["verdict"] != "GO":
            raise SystemExit(EXIT_CODES[data["verdict"]])

    def _print(self, data):
        p = data["progress"]
        self.stdout.write(f"{data['name']} ({data['slug']}), version {data['version']}")
        self.stdout.write(f"Verdict: {data['verdict']}  {data['decision']['outcome']}")
        self.stdout.write(
            f"Progress: {p['percent']}% ({p['done_minutes']} of {p['total_minutes']} min done, "
            f"{p['remaining_minutes']} min left)"
        )
        risk = data["overall_risk"]
        self.stdout.write(f"Overall risk: {risk['before']} before, {risk['current']} now")
        for blocker in data["blockers"]:
            self.stdout.write(f"  - {blocker}")
