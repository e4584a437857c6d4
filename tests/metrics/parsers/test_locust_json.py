"""Locust 2.x JSON stats (issue 15, item 1), on a file written by the real tool
(tests/fixtures/locust/json_run.json: Locust 2.47.0 `--json-file` against tests/support/target.py,
see tests/fixtures/README.md). Counts are the file's own; percentiles must equal what Locust's
own function (`locust.stats.calculate_response_time_percentile`) gives for the same histograms."""

from __future__ import annotations

import io
import subprocess
import sys
from collections import Counter
from pathlib import Path

import orjson
import pytest
from django.core.management import call_command

from metrics.parsers import ParseError, detect_format, parse_file

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "locust" / "json_run.json"
PERCENTILES = {"p50_ms": 0.5, "p90_ms": 0.9, "p95_ms": 0.95, "p99_ms": 0.99}


# Locust's own function, run in its own interpreter: importing locust patches this one (gevent)
LOCUST = """
import json, sys
from locust.stats import calculate_response_time_percentile as pct
asked = json.load(sys.stdin)
print(json.dumps([
    {k: pct({int(t): n for t, n in times.items()}, timed, share) for k, share in shares.items()}
    for times, timed, shares in asked
]))
"""


def locusts_own(asked: list[tuple[dict, int]]) -> list[dict]:
    """For each (histogram, requests with a time): Locust's p50/p90/p95/p99 of it."""
    data = orjson.dumps([[times, timed, PERCENTILES] for times, timed in asked])
    out = subprocess.run(
        [sys.executable, "-c", LOCUST], input=data, capture_output=True, check=True
    ).stdout
    return orjson.loads(out)


def test_it_reads_each_endpoint_and_the_whole_run_as_locust_counts_them():
    entries = orjson.loads(FIXTURE.read_bytes())
    run = parse_file(FIXTURE)
    assert detect_format(FIXTURE) == "locust-json"
    assert (run.tool, run.format) == ("locust", "locust-json")
    assert set(run.endpoints) == {f"{e['method']} {e['name']}" for e in entries}
    merged: Counter = Counter()
    for e in entries:
        merged.update({int(k): v for k, v in e["response_times"].items()})
    total = sum(e["num_requests"] for e in entries)
    asked = [(e["response_times"], e["num_requests"] - e["num_none_requests"]) for e in entries]
    *own, own_total = locusts_own([*asked, ({str(k): v for k, v in merged.items()}, total)])
    for e, figures in zip(entries, own, strict=True):
        got = run.endpoints[f"{e['method']} {e['name']}"]
        assert (got.requests, got.failed) == (e["num_requests"], e["num_failures"])
        assert {key: getattr(got, key) for key in PERCENTILES} == figures
    assert run.overall.requests == total
    assert run.overall.failed == sum(e["num_failures"] for e in entries) > 0
    assert {key: getattr(run.overall, key) for key in PERCENTILES} == own_total
    assert run.overall.max_ms == max(e["max_response_time"] for e in entries)
    assert run.scenarios == {"default": run.overall}
    assert any("Locust rounds response times" in w for w in run.warnings)


def test_requests_without_a_time_count_but_are_not_in_the_percentiles(tmp_path):
    entry = {
        "name": "/x",
        "method": "GET",
        "num_requests": 10,
        "num_none_requests": 2,
        "num_failures": 2,
        "response_times": {"10": 4, "120": 3, "1100": 1},
        "start_time": 1000.0,
        "last_request_timestamp": 1010.0,
        "total_response_time": 1500.0,
        "max_response_time": 1100.0,
        "min_response_time": 10.0,
    }
    path = tmp_path / "stats.json"
    path.write_bytes(orjson.dumps([entry]))
    run = parse_file(path)
    assert (run.overall.requests, run.overall.failed, run.overall.rps) == (10, 2, 1.0)
    # Locust's walk from the top: 1 of 8 timed above 120 ms, 4 at or above it, so p50 is 120
    assert run.overall.p50_ms == 120 and run.overall.p95_ms == 1100
    assert run.overall.avg_ms == 1500.0 / 8


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"[]", "it is empty"),
        (b'[{"name": "/x", "method": "GET"}]', "entry 1 has no num_requests"),
        (b'[{"metric": "http_reqs"}]', "JSON array"),
    ],
)
def test_an_array_that_is_not_locusts_stats_is_refused_clearly(tmp_path, data, message):
    path = tmp_path / "x.json"
    path.write_bytes(data)
    with pytest.raises(ParseError, match=message):
        parse_file(path)


def test_ingest_results_takes_it_with_format_auto(demo):
    out = io.StringIO()
    call_command(
        "ingest_results", str(FIXTURE), "--launch", "whatsapp-saas", "--test", "peak",
        "--json", stdout=out,
    )  # fmt: skip
    run = orjson.loads(out.getvalue())["runs"][0]
    assert (run["tool"], run["format"]) == ("locust", "locust-json")
    assert run["overall"]["requests"] == sum(
        e["num_requests"] for e in orjson.loads(FIXTURE.read_bytes())
    )
