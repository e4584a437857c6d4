"""validate_config, validate_query and is_configured: plain-words answers, no I/O."""

from __future__ import annotations

from datetime import datetime

import pytest

from metrics.collectors import (
    Query,
    SourceError,
    SourceSpec,
    is_configured,
    poll,
    validate_config,
    validate_query,
)

# The example from the brief, as a launch plan would declare it.
K6_LIVE = {
    "url_env": "LAUNCHBOARD_K6_INFLUXDB_URL",
    "database": "k6",
    "metrics": {
        "peak-p95": {"measurement": "http_req_duration", "where": {"scenario": "peak"}},
        "peak-errors": {"measurement": "http_req_failed", "where": {"scenario": "peak"}},
        "requests": {"measurement": "http_reqs"},
    },
}
CLOUDWATCH = {
    "region": "eu-west-1",
    "metrics": {
        "db-connections": {"namespace": "AWS/RDS", "metric": "DatabaseConnections",
                           "dimensions": {"DBInstanceIdentifier": "prod-db"},
                           "stat": "Maximum", "period": 60},
        "response-p95": {"namespace": "AWS/ApplicationELB", "metric": "TargetResponseTime",
                         "dimensions": {"LoadBalancer": "app/prod/1"}, "stat": "p95"},
        "requests": {"namespace": "AWS/ApplicationELB", "metric": "RequestCount",
                     "stat": "SampleCount", "period": 300},
    },
}  # fmt: skip
ALARMS = {"region_env": "LAUNCHBOARD_AWS_REGION", "alarms": ["database-connections-high"]}
INFLUX2 = {"url_env": "I2_URL", "token_env": "I2_TOKEN", "org": "launch", "bucket": "k6",
           "metrics": {"p95": {"measurement": "http_req_duration", "field": "value"}}}  # fmt: skip


@pytest.mark.parametrize(
    ("kind", "config"),
    [("influxdb1", K6_LIVE), ("influxdb2", INFLUX2), ("cloudwatch", CLOUDWATCH),
     ("cloudwatch-alarms", ALARMS)],
)  # fmt: skip
def test_a_well_declared_source_has_no_problems(kind, config):
    assert validate_config(kind, config) == []


@pytest.mark.parametrize(
    ("kind", "config", "problem"),
    [
        ("influx", K6_LIVE, "unknown source kind 'influx'"),
        ("influxdb1", [], "must be a mapping"),
        ("influxdb1", {**K6_LIVE, "url": "http://admin:pw@influx:8086"},
         "'url' does not belong in a plan: put the value in an environment variable and name"
         " that variable with 'url_env'"),
        ("influxdb1", {**K6_LIVE, "password": "pw"}, "name that variable with 'password_env'"),
        ("influxdb2", {**INFLUX2, "token": "t"}, "name that variable with 'token_env'"),
        ("cloudwatch", {**CLOUDWATCH, "aws_secret_access_key": "s"},
         "AWS credentials come from boto3's standard chain"),
        ("influxdb1", {k: v for k, v in K6_LIVE.items() if k != "database"},
         "'database' is required"),
        ("influxdb1", {**K6_LIVE, "databse": "k6"}, "unknown key 'databse'"),
        ("influxdb1", {**K6_LIVE, "url_env": "not a name"}, "'url_env' must name an environment"),
        ("influxdb1", {**K6_LIVE, "username_env": "U"}, "'username_env' and 'password_env' go"),
        ("influxdb1", {**K6_LIVE, "metrics": {}}, "'metrics' must map at least one metric"),
        ("influxdb1", {**K6_LIVE, "metrics": {"x": {"where": {}}}},
         "metric 'x': 'measurement' is required"),
        ("influxdb1", {**K6_LIVE, "where": {"testid": "rc1\nDROP"}},
         "must not contain control characters"),
        ("influxdb1", {**K6_LIVE, "step_s": 0}, "'step_s' must be a whole number from 1 to 3600"),
        ("cloudwatch", {**CLOUDWATCH, "region_env": "R"}, "give 'region' or 'region_env'"),
        ("cloudwatch", {**CLOUDWATCH, "region": "Europe"}, "is not an AWS region name"),
        ("cloudwatch", {"metrics": {"x": {"namespace": "AWS/RDS", "metric": "M",
                                          "stat": "Max"}}}, "stat 'Max' is not supported"),
        ("cloudwatch", {"metrics": {"x": {"namespace": "AWS/RDS", "metric": "M",
                                          "stat": "Sum", "period": 90}}},
         "period 90 must be 1, 5, 10, 20, 30 or a multiple of 60 seconds"),
        ("cloudwatch", {"metrics": {"x": {"namespace": "AWS/RDS", "metric": "M"}}},
         "metric 'x': 'stat' is required"),
        ("cloudwatch-alarms", {"alarms": []}, "'alarms' must list from 1 to 500 alarm names"),
        ("cloudwatch-alarms", {"alarms": ["a", "a"]}, "'alarms' names a more than once"),
    ],
)  # fmt: skip
def test_a_badly_declared_source_is_explained_in_plain_words(kind, config, problem):
    problems = validate_config(kind, config)
    assert any(problem in p for p in problems), problems


@pytest.mark.parametrize(
    ("kind", "config", "query", "problem"),
    [
        ("influxdb1", K6_LIVE, Query("p95", "p(95)", 60), "metric 'p95' is not declared"),
        ("influxdb1", K6_LIVE, Query("peak-p95", "p95", 60), "unknown aggregate 'p95'"),
        ("influxdb1", K6_LIVE, Query("peak-p95", "p(0)", 60), "unknown aggregate 'p(0)'"),
        ("influxdb1", K6_LIVE, Query("peak-p95", "avg", 0), "window_s 0 must be"),
        ("cloudwatch", CLOUDWATCH, Query("db-connections", "sum", 300),
         "aggregate sum over CloudWatch stat Maximum needs stat Sum or SampleCount"),
        ("cloudwatch", CLOUDWATCH, Query("response-p95", "p(99)", 300), "needs stat p99"),
        ("cloudwatch", CLOUDWATCH, Query("db-connections", "rate", 300), "needs metric math"),
        ("cloudwatch", CLOUDWATCH, Query("requests", "count", 120),
         "window_s 120 is shorter than the metric's period (300 s)"),
        ("cloudwatch-alarms", ALARMS, Query("x", "max", 60), "takes no metric queries"),
    ],
)  # fmt: skip
def test_a_query_that_means_nothing_is_refused(kind, config, query, problem):
    problems = validate_query(kind, config, query)
    assert any(problem in p for p in problems), problems


@pytest.mark.parametrize(
    "query",
    [Query("peak-p95", "p(99.9)", 300), Query("peak-errors", "rate", 60),
     Query("requests", "count", 30), Query("peak-p95", "med", 1)],
)  # fmt: skip
def test_k6_threshold_aggregates_are_accepted(query):
    assert validate_query("influxdb1", K6_LIVE, query) == []


@pytest.mark.parametrize(
    "query",
    [Query("db-connections", "max", 300), Query("db-connections", "value", 60),
     Query("response-p95", "p(95)", 300), Query("requests", "count", 300),
     Query("requests", "sum", 600)],
)  # fmt: skip
def test_meaningful_cloudwatch_combinations_are_accepted(query):
    assert validate_query("cloudwatch", CLOUDWATCH, query) == []


def test_an_influxdb_source_without_its_url_variable_is_not_configured():
    spec = SourceSpec("k6-live", "influxdb1", K6_LIVE)
    assert is_configured(spec, env={}) == (
        False, "set LAUNCHBOARD_K6_INFLUXDB_URL to enable this source")  # fmt: skip
    assert is_configured(spec, env={"LAUNCHBOARD_K6_INFLUXDB_URL": "http://influx:8086"}) == (
        True, "")  # fmt: skip


def test_a_bad_url_is_reported_without_its_value():
    spec = SourceSpec("k6-live", "influxdb1", K6_LIVE)
    ok, reason = is_configured(spec, env={"LAUNCHBOARD_K6_INFLUXDB_URL": "ftp://u:secret@x"})
    assert not ok and "LAUNCHBOARD_K6_INFLUXDB_URL must be an http" in reason
    assert "secret" not in reason


def test_named_credential_variables_must_be_set_too():
    spec = SourceSpec("k6", "influxdb1", {**K6_LIVE, "username_env": "U", "password_env": "P"})
    env = {"LAUNCHBOARD_K6_INFLUXDB_URL": "http://influx:8086", "U": "reader"}
    assert is_configured(spec, env) == (False, "set P to enable this source")


def test_cloudwatch_needs_a_region_and_credentials(monkeypatch):
    spec = SourceSpec("aws", "cloudwatch-alarms", ALARMS)
    keys = {"AWS_ACCESS_KEY_ID": "AKIAEXAMPLE", "AWS_SECRET_ACCESS_KEY": "example"}
    assert is_configured(spec, env=keys) == (
        False, "set LAUNCHBOARD_AWS_REGION to the AWS region to enable this source")  # fmt: skip
    region = {"LAUNCHBOARD_AWS_REGION": "eu-west-1"}
    ok, reason = is_configured(spec, env=region)  # no keys in env, no files (see conftest)
    assert not ok and reason.startswith("set AWS credentials")
    assert is_configured(spec, env={**region, **keys}) == (True, "")
    assert is_configured(spec, env={**region, "LAUNCHBOARD_AWS_INSTANCE_ROLE": "1"})[0]
    assert is_configured(
        spec, env={**region, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2/credentials/x"}
    )[0]


def test_cloudwatch_reads_credentials_from_a_profile_file_offline(monkeypatch, tmp_path):
    credentials = tmp_path / "credentials"
    credentials.write_text("[launch]\naws_access_key_id = AKIAFILE\naws_secret_access_key = s\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    spec = SourceSpec("aws", "cloudwatch", CLOUDWATCH)
    assert is_configured(spec, env={"AWS_PROFILE": "launch"}) == (True, "")
    assert not is_configured(spec, env={"AWS_PROFILE": "missing"})[0]


def test_poll_refuses_a_naive_now_or_a_wrong_query_as_config_errors():
    spec = SourceSpec("k6-live", "influxdb1", K6_LIVE)
    env = {"LAUNCHBOARD_K6_INFLUXDB_URL": "http://127.0.0.1:9"}
    with pytest.raises(SourceError) as naive:
        poll(spec, [Query("requests", "count", 60)], now=datetime(2026, 11, 27), env=env)
    with pytest.raises(SourceError) as unknown:
        poll(spec, [Query("nope", "count", 60)], now=datetime.now().astimezone(), env=env)
    with pytest.raises(SourceError) as not_a_query:
        poll(spec, ["requests"], now=datetime.now().astimezone(), env=env)
    assert {naive.value.kind, unknown.value.kind, not_a_query.value.kind} == {"config"}
    assert "timezone-aware" in naive.value.message
    assert "metric 'nope' is not declared" in unknown.value.message


def test_poll_of_an_unconfigured_source_is_a_config_error_saying_what_to_set():
    spec = SourceSpec("k6-live", "influxdb1", K6_LIVE)
    with pytest.raises(SourceError) as caught:
        poll(spec, [], now=datetime.now().astimezone(), env={})
    assert (caught.value.kind, caught.value.retryable) == ("config", False)
    assert caught.value.message == "set LAUNCHBOARD_K6_INFLUXDB_URL to enable this source"


def test_source_error_kinds_are_closed_and_retryable_by_default_only_when_transient():
    assert SourceError("timeout", "x").retryable and SourceError("throttled", "x").retryable
    assert not SourceError("auth", "x").retryable and not SourceError("not_found", "x").retryable
    with pytest.raises(ValueError):
        SourceError("oops", "x")


def test_a_surprise_inside_a_collector_still_comes_out_as_source_error(monkeypatch):
    import metrics.collectors as collectors

    def explode(*_args, **_kwargs):
        raise KeyError("a bug")

    monkeypatch.setitem(collectors._POLLERS, "influxdb1", explode)
    spec = SourceSpec("k6-live", "influxdb1", K6_LIVE)
    env = {"LAUNCHBOARD_K6_INFLUXDB_URL": "http://127.0.0.1:9"}
    with pytest.raises(SourceError) as caught:
        poll(spec, [], now=datetime.now().astimezone(), env=env)
    assert caught.value.kind == "bad_response" and "KeyError" in caught.value.detail


def test_a_celery_time_limit_passes_through_untouched(monkeypatch):
    import metrics.collectors as collectors

    class SoftTimeLimitExceeded(Exception):  # what billiard raises inside a task
        pass

    def slow(*_args, **_kwargs):
        raise SoftTimeLimitExceeded()

    monkeypatch.setitem(collectors._POLLERS, "influxdb1", slow)
    spec = SourceSpec("k6-live", "influxdb1", K6_LIVE)
    env = {"LAUNCHBOARD_K6_INFLUXDB_URL": "http://127.0.0.1:9"}
    with pytest.raises(SoftTimeLimitExceeded):
        poll(spec, [], now=datetime.now().astimezone(), env=env)
