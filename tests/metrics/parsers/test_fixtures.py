"""The committed real outputs (tests/fixtures) parse into what their README promises."""

from __future__ import annotations

from metrics.parsers import detect_format, latency_drift, parse_file, spike_recovery

from .conftest import FIXTURES

K6 = FIXTURES / "k6"


def verdicts(result):
    return {(t["metric"], t["expression"]): t["ok"] for t in result.thresholds}


def test_passing_peak_run():
    r = parse_file(K6 / "peak_pass.ndjson")
    assert r.complete and r.overall.error_rate < 0.01 and r.overall.p95_ms < 400
    assert r.overall.timeouts == 0 and r.checks_rate == 1.0
    assert verdicts(r)[("http_req_duration", "p(95)<400")] is True
    assert parse_file(K6 / "peak_pass.ndjson.gz").to_dict() == r.to_dict()


def test_failing_peak_run_with_timeouts():
    r = parse_file(K6 / "peak_fail.ndjson")
    assert r.overall.error_rate > 0.01 and r.overall.p95_ms > 400
    assert r.timeout_breakdown["1050 request timeout"] == r.overall.timeouts > 0
    assert verdicts(r)[("http_req_failed", "rate<0.01")] is False


def test_summaries_match_the_ndjson_of_the_same_run():
    for run in ("peak_pass", "peak_fail"):
        nd = parse_file(K6 / f"{run}.ndjson")
        for kind in ("summary-export", "handle-summary"):
            s = parse_file(K6 / f"{run}.{kind}.json")
            assert detect_format(K6 / f"{run}.{kind}.json") == "k6-summary"
            assert (s.overall.requests, s.overall.failed) == (
                nd.overall.requests,
                nd.overall.failed,
            )
            assert abs(s.overall.p95_ms - nd.overall.p95_ms) <= 0.01 * s.overall.p95_ms
            assert s.checks == nd.checks
        exp = parse_file(K6 / f"{run}.summary-export.json")
        hs = parse_file(K6 / f"{run}.handle-summary.json")
        assert verdicts(exp) == verdicts(hs)  # opposite polarity in the files, same verdicts


def test_spike_run_recovers():
    r = parse_file(K6 / "spike.ndjson.gz")
    vus = [p.vus for p in r.series if p.vus is not None]
    assert max(vus) >= 25 and min(vus) <= 3
    rec = spike_recovery(r.series, p95_limit_ms=100, error_rate_limit=0.01)
    assert rec.spike_end is not None and rec.seconds is not None and 0 <= rec.seconds <= 3
    assert r.overall.failed > 0  # 503s while the pool was exhausted
    assert latency_drift(r.series).pct is None  # 14 s is too short to judge drift


def test_locust_prefix_set():
    r = parse_file(FIXTURES / "locust" / "run")
    assert r.tool == "locust" and r.overall.requests > 100 and r.overall.failed > 0
    assert r.timeout_breakdown == {"ReadTimeout": r.overall.timeouts} and r.overall.timeouts
    assert r.series[-1].vus == 5
