"""Our Locust figures against the Aggregated row of a real Locust run's CSV."""

from __future__ import annotations

import csv
import gzip
import shutil
from pathlib import Path

import pytest

from metrics.parsers import detect_format, parse_file


def rows(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_overall_is_the_aggregated_row(locust_run):
    stats = rows(f"{locust_run}_stats.csv")
    agg = next(r for r in stats if r["Name"] == "Aggregated")
    r = parse_file(locust_run)  # the --csv prefix
    assert detect_format(locust_run) == "locust-csv"
    assert r.tool == "locust" and r.complete
    assert r.overall.requests == int(agg["Request Count"]) > 0
    assert r.overall.failed == int(agg["Failure Count"]) > 0
    assert r.overall.error_rate == int(agg["Failure Count"]) / int(agg["Request Count"])
    assert r.overall.p95_ms == float(agg["95%"]) and r.overall.p99_ms == float(agg["99%"])
    assert r.overall.max_ms == float(agg["Max Response Time"])
    assert r.overall.avg_ms == float(agg["Average Response Time"])
    assert r.scenarios == {"default": r.overall}
    names = {f"{e['Type']} {e['Name']}" for e in stats if e["Name"] != "Aggregated"}
    assert set(r.endpoints) == names and "GET GET /ok" in names


def test_timeouts_from_failures_csv(locust_run):
    failures = rows(f"{locust_run}_failures.csv")
    timed_out = sum(int(f["Occurrences"]) for f in failures if "timed out" in f["Error"])
    r = parse_file(locust_run)
    assert timed_out > 0
    assert r.overall.timeouts == timed_out == r.endpoints["GET GET /timeout"].timeouts
    assert r.timeout_breakdown == {"ReadTimeout": timed_out}


def test_series_from_history(locust_run):
    history = [h for h in rows(f"{locust_run}_stats_history.csv") if h["Name"] == "Aggregated"]
    r = parse_file(locust_run)
    assert r.series and sum(p.requests for p in r.series) == int(history[-1]["Total Request Count"])
    assert max(p.vus for p in r.series if p.vus is not None) == 4
    assert r.duration_s and r.started_at < r.ended_at


def test_stats_file_path_and_gzip_give_the_same(locust_run, tmp_path):
    by_prefix = parse_file(locust_run)
    direct = parse_file(f"{locust_run}_stats.csv")
    assert direct.to_dict() == by_prefix.to_dict()
    gz = tmp_path / "stats.csv.gz"
    gz.write_bytes(gzip.compress(Path(f"{locust_run}_stats.csv").read_bytes()))
    alone = tmp_path / "copy_stats.csv"
    shutil.copy(f"{locust_run}_stats.csv", alone)
    assert parse_file(gz).overall == parse_file(alone).overall
    with pytest.raises(Exception, match="_stats_history"):
        parse_file(f"{locust_run}_stats_history.csv")
