"""The InfluxDB 2 collector against recorded answers.

No InfluxDB 2 server can be installed here (Debian ships only 1.x), so a small local HTTP
server plays `POST /api/v2/query`: it checks the token and the org, keeps the Flux script it
was sent, and answers with a file from tests/fixtures/influxdb2/ (annotated CSV as the
InfluxDB 2 API documents it; see the README there). influxdb-client's real HTTP and CSV code
runs, and so does ours.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from metrics.collectors import Query, SourceError, SourceSpec, poll
from tests.metrics.collectors.fakes import Seen, canned_server

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "influxdb2"
NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
TOKEN = "launchboard-read-token"
ENV = {"LAUNCHBOARD_K6_INFLUX2_TOKEN": TOKEN}
SPEC = SourceSpec(
    key="k6-v2",
    kind="influxdb2",
    config={
        "url_env": "LAUNCHBOARD_K6_INFLUX2_URL",
        "token_env": "LAUNCHBOARD_K6_INFLUX2_TOKEN",
        "org": "launch",
        "bucket": "k6",
        "where": {"testid": "rc1"},
        "step_s": 60,
        "metrics": {
            "peak-p95": {"measurement": "http_req_duration", "where": {"scenario": "peak"}},
            "peak-errors": {"measurement": "http_req_failed", "where": {"scenario": "peak"}},
        },
    },
)
QUERIES = [Query("peak-p95", "p(95)", 300), Query("peak-errors", "rate", 300)]


def influx2(fixture: str, status: int = 200):
    """A responder playing InfluxDB 2's query endpoint with one fixture file."""
    body = (FIXTURES / fixture).read_bytes()
    content_type = "application/json" if fixture.endswith(".json") else "text/csv; charset=utf-8"

    def respond(seen: Seen):
        if seen.headers.get("Authorization") != f"Token {TOKEN}":
            return (
                401,
                {"Content-Type": "application/json"},
                (FIXTURES / "unauthorized.json").read_bytes(),
            )
        assert urlsplit(seen.path).path == "/api/v2/query"
        assert parse_qs(urlsplit(seen.path).query)["org"] == ["launch"]
        return status, {"Content-Type": content_type}, body

    return respond


def _poll(url: str, env=ENV, queries=QUERIES, spec=SPEC):
    return poll(spec, queries, now=NOW, env={**env, "LAUNCHBOARD_K6_INFLUX2_URL": url})


def test_it_reads_window_aggregates_counts_and_series():
    with canned_server(influx2("k6_peak_p95_and_error_rate.csv")) as server:
        p95, errors = _poll(server.url).readings
    assert (p95.value, p95.count) == (148.095265, 653)
    assert p95.at == datetime(2026, 11, 27, 9, 59, 58, 503271, tzinfo=UTC)
    assert [v for _, v in p95.series] == [151.22, 149.87, 148.1, 146.93, 150.04]
    assert p95.series[0][0] == datetime(2026, 11, 27, 9, 55, tzinfo=UTC)
    assert errors.value == pytest.approx(0.012251148545176111)
    assert (errors.metric, errors.aggregate, errors.window_s) == ("peak-errors", "rate", 300)


def test_it_sends_one_flux_script_with_absolute_times_and_filters():
    with canned_server(influx2("k6_peak_p95_and_error_rate.csv")) as server:
        _poll(server.url)
    assert len(server.seen) == 1
    flux = json.loads(server.seen[0].body)["query"]
    assert 'from(bucket: "k6")' in flux
    assert "range(start: 2026-11-27T09:30:00.000000Z, stop: 2026-11-27T10:00:00.000000Z)" in flux
    assert 'r["scenario"] == "peak" and r["testid"] == "rc1"' in flux
    assert 'quantile(q: 0.95, method: "exact_selector")' in flux
    assert "aggregateWindow(every: 60s" in flux
    assert 'yield(name: "q1_value")' in flux


def test_a_config_value_cannot_escape_its_flux_string():
    spec = SourceSpec(
        SPEC.key, SPEC.kind, {**SPEC.config, "where": {"testid": 'x" or true or "${r}'}}
    )
    with canned_server(influx2("empty_result.csv")) as server:
        _poll(server.url, spec=spec)
    flux = json.loads(server.seen[0].body)["query"]
    assert 'r["testid"] == "x\\" or true or \\"\\${r}"' in flux


def test_an_empty_answer_is_no_value_not_zero():
    with canned_server(influx2("empty_result.csv")) as server:
        readings = _poll(server.url).readings
    assert [(r.value, r.count, r.at, r.series) for r in readings] == [(None, 0, None, [])] * 2


def test_a_wrong_token_is_an_auth_error():
    with (
        canned_server(influx2("k6_peak_p95_and_error_rate.csv")) as server,
        pytest.raises(SourceError) as caught,
    ):
        _poll(server.url, env={"LAUNCHBOARD_K6_INFLUX2_TOKEN": "stale-token"})
    assert (caught.value.kind, caught.value.retryable) == ("auth", False)
    assert "stale-token" not in caught.value.message + caught.value.detail


def test_a_missing_bucket_is_not_found():
    with (
        canned_server(influx2("bucket_not_found.json", status=404)) as server,
        pytest.raises(SourceError) as caught,
    ):
        _poll(server.url)
    assert caught.value.kind == "not_found"
    assert caught.value.message.endswith("has no bucket 'k6' in organization 'launch'")


def test_an_error_table_inside_a_200_answer_is_an_error():
    with (
        canned_server(influx2("flux_runtime_error.csv")) as server,
        pytest.raises(SourceError) as caught,
    ):
        _poll(server.url)
    assert caught.value.kind == "bad_response"
    assert "unsupported aggregate column type" in caught.value.detail


def test_an_unset_token_variable_means_not_configured():
    with pytest.raises(SourceError) as caught:
        _poll("http://127.0.0.1:9", env={})
    assert caught.value.kind == "config"
    assert caught.value.message == "set LAUNCHBOARD_K6_INFLUX2_TOKEN to enable this source"
