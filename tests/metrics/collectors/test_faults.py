"""Every source kind against the same misbehaving peers on loopback (reliability.md §3.1 T6/T7):
nothing listening, a server that accepts and never answers, garbage with HTTP 200, wrong-shape
JSON, gateway errors. poll() must end in time and raise only SourceError."""

from __future__ import annotations

import contextlib
import json
import time
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metrics.collectors import Query, SourceError, SourceSpec, poll
from tests.metrics.collectors.fakes import Seen, always, blackhole, canned_server, closed_port_url

NOW = datetime.now(UTC)
URL_ENV = "LAUNCHBOARD_TEST_URL"
METRICS_INFLUX = {"m": {"measurement": "http_req_duration"}}
METRICS_CW = {"m": {"namespace": "AWS/RDS", "metric": "DatabaseConnections", "stat": "Maximum"}}
SPECS = {
    "influxdb1": SourceSpec("f", "influxdb1",
                            {"url_env": URL_ENV, "database": "k6", "metrics": METRICS_INFLUX}),
    "influxdb2": SourceSpec("f", "influxdb2",
                            {"url_env": URL_ENV, "token_env": "T", "org": "o", "bucket": "k6",
                             "metrics": METRICS_INFLUX}),
    "cloudwatch": SourceSpec("f", "cloudwatch",
                             {"endpoint_url_env": URL_ENV, "region": "us-east-1",
                              "metrics": METRICS_CW}),
    "cloudwatch-alarms": SourceSpec("f", "cloudwatch-alarms",
                                    {"endpoint_url_env": URL_ENV, "region": "us-east-1",
                                     "alarms": ["database-connections-high"]}),
}  # fmt: skip
QUERIES = {
    "influxdb1": [Query("m", "p(95)", 60)],
    "influxdb2": [Query("m", "p(95)", 60)],
    "cloudwatch": [Query("m", "max", 60)],
    "cloudwatch-alarms": [],
}
KINDS = list(SPECS)
# Both retry a refused connection (3 attempts): ours backs off 0.05-0.1 s then 0.1-0.2 s,
# botocore 1.44's standard mode up to 0.05 s then 0.1 s for non-throttling errors.
REFUSED_WITHIN_S = 1.0


def _poll(kind: str, url: str, timeout_s: float = 5.0):
    env = {URL_ENV: url, "T": "token", "AWS_ACCESS_KEY_ID": "testing",
           "AWS_SECRET_ACCESS_KEY": "testing"}  # fmt: skip
    return poll(SPECS[kind], QUERIES[kind], now=NOW, env=env, timeout_s=timeout_s)


def _failure(kind: str, url: str, timeout_s: float = 5.0) -> tuple[SourceError, float]:
    started = time.monotonic()
    with pytest.raises(SourceError) as caught:
        _poll(kind, url, timeout_s)
    return caught.value, time.monotonic() - started


@pytest.mark.parametrize("kind", KINDS)
def test_a_refused_connection_is_unreachable_quickly(kind):
    # the client's first use in a process pays its imports (~0.5 s for influxdb-client, up to
    # 1 s on a loaded CI machine): what is timed is a refused connection, so warm it up first
    _failure(kind, closed_port_url())
    error, elapsed = _failure(kind, closed_port_url())
    assert (error.kind, error.retryable) == ("unreachable", True)
    assert elapsed < REFUSED_WITHIN_S
    assert "could not be reached" in error.message


@pytest.mark.parametrize("kind", KINDS)
def test_a_hung_server_is_a_timeout_at_the_configured_timeout(kind):
    with blackhole() as url:
        error, elapsed = _failure(kind, url, timeout_s=1.0)
    assert (error.kind, error.retryable) == ("timeout", True)
    assert error.message.endswith("did not answer within 1 s")
    assert 0.95 <= elapsed < (1.5 if kind.startswith("influx") else 2.5)  # + botocore backoff


@pytest.mark.parametrize("kind", KINDS)
def test_an_html_page_with_http_200_is_a_bad_response(kind):
    page = b"<html><body>Please log in to the corporate proxy</body></html>"
    with canned_server(always(200, page, "text/html")) as server:
        error, _ = _failure(kind, server.url)
    assert (error.kind, error.retryable) == ("bad_response", False)


@pytest.mark.parametrize(
    "body",
    [
        b"{}",
        b"[]",
        b'{"results": "none"}',
        b'{"results": [{"statement_id": 0}]}',  # 1 result for 3 statements
        b'{"results": [{"statement_id": 0, "series": [{"values": [[0, 1]]}]},'
        b' {"statement_id": 1}, {"statement_id": 2}]}',  # 2 columns where 3 are due
        b'{"results": [{"statement_id": 0, "series": [{"values": [[0, "high", 3]]}]},'
        b' {"statement_id": 1}, {"statement_id": 2}]}',  # a string where a number is due
    ],
)
def test_influxdb_json_of_the_wrong_shape_is_a_bad_response(body):
    with canned_server(always(200, body)) as server:
        error, _ = _failure("influxdb1", server.url)
    assert error.kind == "bad_response"


def test_gateway_errors_are_retried_then_reported_unreachable():
    with canned_server(always(503, b"upstream down", "text/plain")) as server:
        error, _ = _failure("influxdb1", server.url)
    assert (error.kind, error.retryable) == ("unreachable", True)
    assert len(server.seen) == 3  # the first try and two retries, no more
    assert "HTTP 503" in error.message


def test_a_gateway_error_then_an_answer_succeeds():
    answers = [(502, b"bad gateway"), (200, json.dumps({"results": [
        {"statement_id": 0}, {"statement_id": 1}, {"statement_id": 2}]}).encode())]  # fmt: skip

    def respond(_seen: Seen):
        status, body = answers.pop(0) if len(answers) > 1 else answers[0]
        return status, {"Content-Type": "application/json"}, body

    with canned_server(respond) as server:
        reading = _poll("influxdb1", server.url).readings[0]
    assert (reading.value, reading.count) == (None, 0)
    assert len(server.seen) == 2


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["results", "statement_id", "series", "values", "columns", "error"]),
        inner, max_size=4),
    max_leaves=20,
)  # fmt: skip


@pytest.fixture(scope="module")
def mutable_server():
    """One canned server for many examples; tests set `answer["body"]` and the content type."""
    answer = {"body": b"", "type": "application/json"}
    with canned_server(lambda _seen: (200, {"Content-Type": answer["type"]}, answer["body"])) as s:
        yield s, answer


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(body=_json | st.binary(max_size=64).map(lambda b: {"raw": b.hex()}))
def test_whatever_an_influxdb_url_answers_poll_raises_only_source_error(mutable_server, body):
    server, answer = mutable_server
    answer.update(body=json.dumps(body).encode(), type="application/json")
    with contextlib.suppress(SourceError):
        _poll("influxdb1", server.url)


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(text=st.text(max_size=200))
def test_whatever_an_influxdb2_url_answers_poll_raises_only_source_error(mutable_server, text):
    server, answer = mutable_server
    answer.update(body=text.encode(), type="text/csv")
    with contextlib.suppress(SourceError):
        _poll("influxdb2", server.url)
