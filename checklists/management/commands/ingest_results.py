import sys

import orjson
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from checklists.models import Launch
from metrics.parsers import FORMATS as PARSER_FORMATS
from metrics.parsers import ahead
from metrics.selectors import run_json
from metrics.services import IngestError, run_ingest

FORMATS = ("auto", *PARSER_FORMATS)


class Command(BaseCommand):
    help = (
        "Ingest k6 (--out json NDJSON, plain or .gz; --summary-export; handleSummary JSON), "
        "Locust (--csv: the _stats.csv or the prefix, <= 0.13's _requests.csv and "
        "_distribution.csv; --json) or JMeter (a .jtl, CSV or XML) results into a launch."
    )

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+", metavar="FILE")
        parser.add_argument("--launch", required=True, metavar="SLUG")
        parser.add_argument("--test", default="", metavar="KEY", help="the load test of the suite")
        parser.add_argument("--format", default="auto", choices=FORMATS, dest="fmt")
        parser.add_argument("--json", action="store_true", help="print the runs as JSON")

    def handle(self, *args, files, launch, test, fmt, json, **options):
        launch = self._launch(launch, test)
        runs, failures = [], []
        for path in files:
            try:
                ingested = run_ingest(
                    launch,
                    path,
                    test=test,
                    fmt=fmt,
                    actor_name="ingest_results",
                    progress=self._progress_bar(path),
                    parsed=ahead.take(path),  # started by manage.py before Django loaded
                )
            except IngestError as exc:
                failures.append(f"{path}: {exc}")
                continue
            runs.append(run_json(ingested.run, ingested.duplicate))
            if not json:
                self._describe(path, ingested)
        if json:
            self.stdout.write(orjson.dumps({"runs": runs}, option=orjson.OPT_INDENT_2).decode())
        if failures:
            raise CommandError("\n".join(failures), returncode=2)

    def _launch(self, slug, test):
        launch = Launch.objects.filter(slug=slug).first()
        if launch is None:
            raise CommandError(f"no launch {slug!r}", returncode=2)
        tests = list(launch.load_tests.values_list("key", flat=True))
        if test and test not in tests:
            raise CommandError(
                f"launch {slug!r} has no load test {test!r} (its tests: {', '.join(tests)})",
                returncode=2,
            )
        return launch

    def _progress_bar(self, path):
        if not sys.stderr.isatty():
            return None
        bar = tqdm(desc=str(path)[-40:], unit="B", unit_scale=True, file=sys.stderr, leave=False)

        def update(bytes_read, total, lines):
            bar.total = total
            bar.n = bytes_read
            bar.set_postfix(lines=f"{lines:,}", refresh=False)
            bar.refresh()

        return update

    def _describe(self, path, ingested):
        run, o = ingested.run, ingested.run.overall
        if ingested.duplicate:
            self.stdout.write(f"{path}: already ingested as run #{run.pk} (same content)")
            return
        state = "" if run.complete else f" INCOMPLETE ({run.incomplete_reason})"
        p95 = "—" if o.get("p95_ms") is None else f"{o['p95_ms']:,.1f} ms"
        self.stdout.write(
            f"{path}: run #{run.pk} ({run.tool} {run.format}){state}: "
            f"{o['requests']:,} requests, {o['error_rate'] * 100:.2f}% errors, p95 {p95}"
        )
