import orjson
from django.core.management.base import BaseCommand, CommandError

from metrics.models import Source
from metrics.services import source_poll

Launch = Source._meta.get_field("launch").related_model  # named, not imported: see ARCHITECTURE


class Command(BaseCommand):
    help = "Poll every live source of a launch once and report on each."

    def add_arguments(self, parser):
        parser.add_argument("--launch", required=True, metavar="SLUG")
        parser.add_argument("--json", action="store_true")
        parser.add_argument("--timeout", type=float, default=5.0, help="seconds per poll")

    def handle(self, *args, launch, json, timeout, **options):
        found = Launch.objects.filter(slug=launch).first()
        if found is None:
            raise CommandError(f"no launch {launch!r}", returncode=2)
        reports = [self._poll(s, timeout) for s in Source.objects.filter(launch=found)]
        if json:
            data = {"launch": launch, "sources": reports}
            self.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode())
        else:
            for r in reports:
                self.stdout.write(self._line(r))
        if any(r["status"] == "failed" for r in reports):
            raise SystemExit(1)

    def _poll(self, source, timeout) -> dict:
        outcome = source_poll(source.pk, timeout_s=timeout)
        source.refresh_from_db()
        error = outcome.error
        return {
            "key": source.key,
            "kind": source.kind,
            "title": source.title,
            "status": outcome.status,
            "configured": source.configured,
            "note": source.status_note or None,
            "readings": outcome.readings,
            "error": {"kind": error.kind, "message": error.message} if error else None,
            "last_success_at": source.last_success_at.isoformat()
            if source.last_success_at
            else None,
        }

    def _line(self, r) -> str:
        if r["status"] == "not_configured":
            return f"{r['key']}: not configured ({r['note']})"
        if r["status"] == "failed":
            return f"{r['key']}: FAILED - {r['error']['message']}"
        return f"{r['key']}: {r['status']}, {r['readings']} reading(s)"
