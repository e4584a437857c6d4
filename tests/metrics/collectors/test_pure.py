"""The pure parts: query text, quoting, window arithmetic, backoff, and the test CBOR encoder."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from botocore.parsers import create_parser
from hypothesis import given
from hypothesis import strategies as st

from metrics.collectors import cwstats, flux, influxql, retry
from metrics.collectors.aggregates import Aggregate, parse_aggregate
from metrics.collectors.envvars import display_url
from tests.metrics.collectors import awsreplay


def test_influxql_statements_for_one_query():
    selection = influxql.Selection(
        measurement="http_req_duration", where=(("scenario", "peak"), ("testid", "rc1"))
    )
    window = influxql.Window(start_ns=1_000, end_ns=2_000, chart_start_ns=500, step_s=10)
    assert influxql.statements(selection, parse_aggregate("p(95)"), window) == [
        (
            'SELECT percentile("value", 95) AS "v", count("value") AS "n" FROM "http_req_duration"'
            " WHERE \"scenario\" = 'peak' AND \"testid\" = 'rc1' AND time > 1000 AND time <= 2000"
        ),
        (
            'SELECT last("value") AS "v" FROM "http_req_duration"'
            " WHERE \"scenario\" = 'peak' AND \"testid\" = 'rc1' AND time > 1000 AND time <= 2000"
        ),
        (
            'SELECT percentile("value", 95) AS "v" FROM "http_req_duration"'
            " WHERE \"scenario\" = 'peak' AND \"testid\" = 'rc1' AND time > 500 AND time <= 2000"
            " GROUP BY time(10s) fill(none)"
        ),
    ]


def test_influxql_quoting_escapes_quotes_and_backslashes_and_refuses_control_characters():
    assert influxql.quote_string("it's \\ here") == "'it\\'s \\\\ here'"
    assert influxql.quote_ident('a"b') == '"a\\"b"'
    assert influxql.quote_string("") == "''"  # k6 drops empty tags: '' selects the root group
    for bad in ("a\nb", "a\rb", "a\x00b"):
        with pytest.raises(ValueError):
            influxql.quote_string(bad)


@given(st.text(st.characters(blacklist_categories=("Cc", "Cs"))))
def test_an_influxql_string_literal_always_ends_where_it_should(text):
    quoted = influxql.quote_string(text)
    body = quoted[1:-1]
    unescaped = body.replace("\\\\", "").replace("\\'", "")
    assert quoted[0] == quoted[-1] == "'" and "'" not in unescaped


def test_flux_strings_escape_interpolation_too():
    assert flux.quote_string('a "b" \\ ${c}') == '"a \\"b\\" \\\\ \\${c}"'


def test_flux_calls_for_each_aggregate():
    assert flux._call(parse_aggregate("p(99.9)")) == 'quantile(q: 0.999, method: "exact_selector")'
    assert flux._call(parse_aggregate("med")) == 'median(method: "exact_mean")'
    assert flux._call(parse_aggregate("rate")) == "mean()"
    assert flux._window_fn(parse_aggregate("avg")) == "mean"
    assert "quantile(column: column, q: 0.95" in flux._window_fn(parse_aggregate("p(95)"))


@pytest.mark.parametrize(
    ("aggregate", "values", "expected"),
    [
        ("max", [1.0, 5.0, 3.0], 5.0),
        ("min", [1.0, 5.0, 3.0], 1.0),
        ("sum", [1.0, 5.0, 3.0], 9.0),
        ("count", [2.0, 2.0], 4.0),
        ("avg", [1.0, 2.0], 1.5),
        ("med", [1.0, 5.0, 3.0], 3.0),
        ("value", [1.0, 5.0, 3.0], 3.0),
        ("p(95)", [0.3, 0.41, 0.35], 0.41),
        ("max", [], None),
    ],
)
def test_cloudwatch_window_value(aggregate, values, expected):
    assert cwstats.window_value(parse_aggregate(aggregate), values) == expected


def test_cloudwatch_percentile_stats_parse():
    assert cwstats.stat_percentile("p95") == 95.0
    assert cwstats.stat_percentile("p99.9") == 99.9
    assert cwstats.stat_percentile("Maximum") is None
    assert cwstats.stat_problem("tm99") is not None


def test_aggregates_follow_k6_threshold_names():
    assert parse_aggregate("p(95)") == Aggregate("p", 95.0)
    assert parse_aggregate("p(99.99)").percentile_text == "99.99"
    for bad in ("p95", "p(101)", "P(95)", "mean", "p()", 95):
        with pytest.raises(ValueError):
            parse_aggregate(bad)


def test_backoff_grows_with_jitter_and_stays_small():
    assert retry.backoff_delay(1, rng=lambda: 0.0) == 0.05
    assert retry.backoff_delay(1, rng=lambda: 1.0) == 0.1
    assert retry.backoff_delay(2, rng=lambda: 1.0) == 0.2


def test_a_deadline_counts_down_on_the_given_clock():
    now = [100.0]
    deadline = retry.Deadline(5, clock=lambda: now[0])
    now[0] = 103.0
    assert deadline.remaining() == 2.0 and not deadline.expired()
    now[0] = 106.0
    assert deadline.remaining() == 0.0 and deadline.expired()


def test_urls_in_messages_lose_their_credentials():
    assert display_url("https://admin:s3cret@influx.internal:8086/base/?u=a&p=b") == (
        "https://influx.internal:8086/base")  # fmt: skip


def test_the_test_cbor_encoder_is_what_botocores_cbor_parser_reads():
    """awsreplay can answer CBOR requests too, should botocore start sending them."""
    request = SimpleNamespace(url="http://x", headers={"Content-Type": "application/cbor"})
    stamp = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
    body = {"MetricDataResults": [{"Id": "q0", "Timestamps": [stamp], "Values": [0.25],
                                   "StatusCode": "Complete"}]}  # fmt: skip
    answer = awsreplay.response(request, 200, body)
    shape = _operation("GetMetricData").output_shape
    parsed = create_parser("smithy-rpc-v2-cbor").parse(_raw(answer), shape)
    result = parsed["MetricDataResults"][0]
    assert (result["Timestamps"][0], result["Values"]) == (stamp, [0.25])
    error = awsreplay.error_response(request, 400, "Throttling", "Rate exceeded")
    parsed = create_parser("smithy-rpc-v2-cbor").parse(_raw(error), shape)
    assert parsed["Error"]["Code"] == "Throttling"


def _operation(name: str):
    import botocore.session

    return botocore.session.get_session().get_service_model("cloudwatch").operation_model(name)


def _raw(answer) -> dict:
    return {"body": answer.content, "headers": answer.headers, "status_code": answer.status_code}
