"""The InfluxDB 1.x collector against a real influxd (auth on) holding points we wrote, so that
every figure is known exactly."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metrics.collectors import Query, SourceError, SourceSpec, poll
from metrics.collectors.timeutil import to_ns
from tests.metrics.collectors.names import INFLUX_PASSWORD_ENV, INFLUX_URL_ENV, INFLUX_USER_ENV

NOW = datetime.now(UTC).replace(microsecond=0)


def _ms(moment: datetime) -> int:
    return to_ns(moment) // 1_000_000


@pytest.fixture(scope="module")
def seeded(influx) -> str:
    """A database with 100 peak durations 1..100 ms (one every second up to NOW - 0.5 s),
    10 spike durations of 1000 ms, one old point outside every window, and 100 failure flags
    of which 40 are 1."""
    database = f"seed_{uuid.uuid4().hex[:8]}"
    influx.query(f'CREATE DATABASE "{database}"')
    lines = []
    for i in range(1, 101):
        at = _ms(NOW - timedelta(seconds=100.5 - i))
        lines.append(f"http_req_duration,scenario=peak,testid=seed value={i} {at}")
        lines.append(f"http_req_failed,scenario=peak,testid=seed value={int(i % 5 < 2)} {at}")
    for i in range(10):
        at = _ms(NOW - timedelta(seconds=30 + i))
        lines.append(f"http_req_duration,scenario=spike,testid=seed value=1000 {at}")
    lines.append(
        f"http_req_duration,scenario=peak,testid=seed value=5000 {_ms(NOW - timedelta(hours=2))}"
    )
    influx.write(database, "\n".join(lines))
    return database


def _spec(database: str, **extra) -> SourceSpec:
    config = {
        "url_env": INFLUX_URL_ENV,
        "username_env": INFLUX_USER_ENV,
        "password_env": INFLUX_PASSWORD_ENV,
        "database": database,
        "where": {"testid": "seed"},
        "metrics": {
            "peak": {"measurement": "http_req_duration", "where": {"scenario": "peak"}},
            "all": {"measurement": "http_req_duration"},
            "failed": {"measurement": "http_req_failed"},
            "nothing": {"measurement": "no_such_measurement"},
        },
    }
    return SourceSpec(key="seeded", kind="influxdb1", config={**config, **extra})


def _read(database, env, metric, aggregate, window_s=300, **extra):
    result = poll(_spec(database, **extra), [Query(metric, aggregate, window_s)], now=NOW, env=env)
    return result.readings[0]


@pytest.mark.parametrize(
    ("aggregate", "expected"),
    [
        # k6's rule, not InfluxQL's nearest rank (95.0, 100.0): pos = p/100 * (n - 1) between
        # sorted[94] = 95 and sorted[95] = 96 -> 95.05; 98.901 -> 99.901.
        ("p(95)", 95.05),
        ("p(99.9)", 99.901),
        ("p(100)", 100.0),
        ("p(1)", 1.99),
        ("avg", 50.5),
        ("med", 50.5),  # n even: mean of the two middle points, as k6's med
        ("min", 1.0),
        ("max", 100.0),
        ("sum", 5050.0),
        ("count", 100.0),
        ("value", 100.0),  # the newest point
    ],
)
def test_it_computes_each_aggregate_over_the_window(seeded, influx_env, aggregate, expected):
    reading = _read(seeded, influx_env, "peak", aggregate)
    assert (reading.value, reading.count) == (pytest.approx(expected, rel=1e-12), 100)
    assert reading.at == NOW - timedelta(seconds=0.5)
    assert (reading.metric, reading.aggregate, reading.window_s) == ("peak", aggregate, 300)


def test_it_leaves_out_points_older_than_the_window(seeded, influx_env):
    reading = _read(seeded, influx_env, "peak", "min", window_s=50)
    assert (reading.value, reading.count) == (51.0, 50)


def test_it_applies_source_and_metric_filters_together(seeded, influx_env):
    reading = _read(seeded, influx_env, "all", "count", window_s=300)
    assert reading.value == 110  # peak and spike, not the old point
    other_test = _read(seeded, influx_env, "all", "count", where={"testid": "other"})
    assert other_test.value is None


def test_it_reads_a_k6_rate_as_the_mean_of_its_flags(seeded, influx_env):
    assert _read(seeded, influx_env, "failed", "rate").value == pytest.approx(0.4)
    assert _read(seeded, influx_env, "failed", "sum").value == 40


def test_an_empty_window_is_no_value_not_zero(seeded, influx_env):
    reading = _read(seeded, influx_env, "nothing", "p(95)")
    assert (reading.value, reading.count, reading.at, reading.series) == (None, 0, None, [])
    before_any_point = poll(
        _spec(seeded), [Query("peak", "count", 60)], now=NOW - timedelta(hours=1), env=influx_env
    ).readings[0]
    assert (before_any_point.value, before_any_point.count) == (None, 0)


def test_its_chart_series_is_the_aggregate_per_step_over_the_chart_window(seeded, influx_env):
    spec, query = _spec(seeded, step_s=60), [Query("peak", "count", 300)]
    reading = poll(spec, query, now=NOW, env=influx_env).readings[0]
    assert sum(value for _, value in reading.series) == 100  # default chart window: 1800 s
    assert [t.second for t, _ in reading.series] == [0] * len(reading.series)
    assert reading.series == sorted(reading.series)
    longer = poll(spec, query, now=NOW, env=influx_env, chart_window_s=3 * 3600).readings[0]
    assert sum(value for _, value in longer.series) == 101  # now the 2-hour-old point too
    assert longer.value == 100  # the window itself did not change


def test_it_answers_several_queries_in_one_poll_in_order(seeded, influx_env):
    queries = [Query("peak", "max", 300), Query("failed", "rate", 300), Query("nothing", "avg", 60)]
    result = poll(_spec(seeded), queries, now=NOW, env=influx_env)
    assert [r.value for r in result.readings] == [100.0, pytest.approx(0.4), None]
    assert result.alarms == [] and result.polled_at.tzinfo is not None


def test_it_reads_an_explicit_retention_policy(seeded, influx_env):
    assert _read(seeded, influx_env, "peak", "count", retention_policy="autogen").value == 100


def test_a_tag_value_cannot_inject_influxql(seeded, influx_env):
    sneaky = {"scenario": "peak' OR \"scenario\" = 'spike"}
    spec = _spec(seeded)
    spec.config["metrics"]["peak"]["where"] = sneaky
    result = poll(spec, [Query("peak", "count", 300)], now=NOW, env=influx_env)
    assert result.readings[0].value is None  # matched literally: no such scenario


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=30))
def test_any_printable_tag_value_is_quoted_safely(seeded, influx_env, text):
    spec = _spec(seeded)
    spec.config["metrics"]["nothing"] = {"measurement": text or "x", "where": {text or "x": text}}
    reading = poll(spec, [Query("nothing", "p(95)", 300)], now=NOW, env=influx_env).readings[0]
    assert reading.value is None  # parsed fine, matched nothing


def test_a_missing_database_is_not_found_although_influxdb_says_200(influx_env):
    with pytest.raises(SourceError) as caught:
        _read("no_such_db", influx_env, "peak", "count")
    assert caught.value.kind == "not_found" and not caught.value.retryable
    assert caught.value.message.endswith("has no database 'no_such_db'")


def test_a_wrong_password_is_an_auth_error(seeded, influx_env):
    env = {**influx_env, INFLUX_PASSWORD_ENV: "wrong"}
    with pytest.raises(SourceError) as caught:
        _read(seeded, env, "peak", "count")
    assert caught.value.kind == "auth" and not caught.value.retryable
    assert "wrong" not in caught.value.message + caught.value.detail


def test_no_credentials_against_an_auth_server_is_an_auth_error(seeded, influx_env):
    spec = _spec(seeded)
    del spec.config["username_env"], spec.config["password_env"]
    with pytest.raises(SourceError) as caught:
        poll(spec, [Query("peak", "count", 60)], now=NOW, env=influx_env)
    assert caught.value.kind == "auth"


def test_a_reader_needs_read_on_that_database(influx, seeded, influx_env):
    name = f"reader_{uuid.uuid4().hex[:6]}"
    influx.create_reader(name, "reader-pw", seeded)
    env = {**influx_env, INFLUX_USER_ENV: name, INFLUX_PASSWORD_ENV: "reader-pw"}
    assert _read(seeded, env, "peak", "count").value == 100  # least privilege is enough
    influx.query(f'REVOKE READ ON "{seeded}" FROM "{name}"')
    with pytest.raises(SourceError) as caught:
        _read(seeded, env, "peak", "count")
    assert caught.value.kind == "auth"
