"""Our NDJSON figures against k6's own end-of-test summary, on one real k6 run."""

from __future__ import annotations

import json

import pytest

from metrics.parsers import detect_format, parse_file

REL = 0.01  # percentiles within 1 % of k6


def close(ours, theirs, rel=REL):
    return ours == pytest.approx(theirs, rel=rel, abs=1e-9)


@pytest.fixture(scope="module")
def parsed(k6_run):
    export = json.loads(k6_run["export"].read_text())["metrics"]
    return {
        "ndjson": parse_file(k6_run["ndjson"]),
        "gz": parse_file(k6_run["gz"]),
        "export": parse_file(k6_run["export"]),
        "handle": parse_file(k6_run["handle"]),
        "raw": export,
    }


def test_formats_are_detected_by_content(k6_run):
    assert detect_format(k6_run["ndjson"]) == "k6-json"
    assert detect_format(k6_run["gz"]) == "k6-json"
    assert detect_format(k6_run["export"]) == "k6-summary"
    assert detect_format(k6_run["handle"]) == "k6-summary"


def test_counts_and_error_rate_match_exactly(parsed):
    r, raw = parsed["ndjson"], parsed["raw"]
    assert r.complete and r.tool == "k6" and r.format == "k6-json"
    assert r.overall.requests == raw["http_reqs"]["count"]
    assert r.overall.failed == raw["http_req_failed"]["passes"]
    assert r.overall.error_rate == pytest.approx(raw["http_req_failed"]["value"], abs=1e-12)
    assert 0 < r.overall.error_rate < 1


def test_percentiles_within_one_percent(parsed):
    o, d = parsed["ndjson"].overall, parsed["raw"]["http_req_duration"]
    for ours, key in (
        (o.p50_ms, "med"),
        (o.p90_ms, "p(90)"),
        (o.p95_ms, "p(95)"),
        (o.p99_ms, "p(99)"),
        (o.max_ms, "max"),
        (o.min_ms, "min"),
        (o.avg_ms, "avg"),
    ):
        assert close(ours, d[key]), (key, ours, d[key])
    steady = parsed["ndjson"].scenarios["steady"]
    sub = parsed["raw"]["http_req_duration{scenario:steady}"]
    assert close(steady.p95_ms, sub["p(95)"]) and close(steady.p50_ms, sub["med"])


def test_scenarios_endpoints_and_setup_samples(parsed):
    r = parsed["ndjson"]
    assert set(r.scenarios) == {"steady", "errors", "db", "logins"}
    # setup() samples have no scenario tag: they count in overall only
    assert sum(s.requests for s in r.scenarios.values()) == r.overall.requests - 1
    assert {"GET GET /ok", "GET GET /slow", "GET GET /db", "POST POST /login"} <= set(r.endpoints)
    assert r.endpoints["GET GET /fail"].error_rate == 1.0
    assert r.endpoints["POST POST /login"].failed == 0  # 401 is expected by its callback
    assert r.scenarios["db"].failed > 0  # 503 from the exhausted pool


def test_timeouts_checks_groups(parsed):
    r, raw = parsed["ndjson"], parsed["raw"]
    assert r.timeout_breakdown["1050 request timeout"] == raw["http_reqs{error_code:1050}"]["count"]
    assert r.endpoints["GET GET /timeout"].timeouts == r.timeout_breakdown["1050 request timeout"]
    assert r.overall.timeouts >= r.endpoints["GET GET /timeout"].timeouts > 0
    assert r.checks_rate == pytest.approx(raw["checks"]["value"], abs=1e-12)
    assert r.checks == parsed["export"].checks
    assert r.groups["::browse"]["checks_passes"] > 0
    assert r.groups["::browse::detail"]["requests"] > 0


def test_custom_metrics_and_thresholds(parsed):
    r, raw = parsed["ndjson"], parsed["raw"]
    assert r.metrics["orders_placed"]["count"] == raw["orders_placed"]["count"]
    assert r.metrics["login_ok"]["rate"] == pytest.approx(raw["login_ok"]["value"], abs=1e-12)
    assert r.metrics["queue_depth"]["max"] == raw["queue_depth"]["max"]
    assert close(r.metrics["login_latency"]["avg"], raw["login_latency"]["avg"], 1e-9)
    # every threshold k6 evaluated on a whole metric has the same verdict here
    ours = {(t["metric"], t["expression"]): t["ok"] for t in r.thresholds}
    for name, m in raw.items():
        for expr, crossed in m.get("thresholds", {}).items():
            if "{" not in name:
                assert ours[(name, expr)] is (not crossed), (name, expr)


def test_gzip_run_gives_identical_figures(parsed):
    assert parsed["gz"].to_dict() == parsed["ndjson"].to_dict()


def test_summary_shapes_agree_with_opposite_polarity(parsed):
    exp, hs = parsed["export"], parsed["handle"]
    assert exp.overall == hs.overall
    assert exp.overall.requests == parsed["ndjson"].overall.requests
    assert exp.overall.p99_ms is not None  # requested with --summary-trend-stats
    by_exp = {(t["metric"], t["expression"]): t["ok"] for t in exp.thresholds}
    by_hs = {(t["metric"], t["expression"]): t["ok"] for t in hs.thresholds}
    assert by_exp == by_hs and False in by_exp.values() and True in by_exp.values()
    assert exp.scenarios["steady"].p95_ms == hs.scenarios["steady"].p95_ms
    assert hs.duration_s and exp.checks == hs.checks
