"""Other shapes of the same real run give the same figures: metadata, time zones, k6 < v0.31
files without http_req_failed; plus progress reporting and JSON output."""

from __future__ import annotations

import gzip
import json
from datetime import datetime, timedelta, timezone

import orjson
import pytest

from metrics.parsers import parse_file

from .conftest import FIXTURES

FAIL = (FIXTURES / "k6" / "peak_fail.ndjson").read_bytes()
DICTS = [orjson.loads(line) for line in FAIL.splitlines()]


def write(tmp_path, dicts, name="v.ndjson") -> str:
    path = tmp_path / name
    path.write_bytes(b"".join(orjson.dumps(d) + b"\n" for d in dicts))
    return str(path)


def test_metadata_lines_take_the_slow_path_with_the_same_result(tmp_path):
    base = parse_file(FIXTURES / "k6" / "peak_fail.ndjson").to_dict()
    with_meta = []
    for d in DICTS:
        if d["type"] == "Point":
            d = {**d, "data": {**d["data"], "metadata": {"vu": "3", "iter": "7"}}}
        with_meta.append(d)
    assert parse_file(write(tmp_path, with_meta)).to_dict() == base


def test_time_zone_offsets_are_the_same_instants(tmp_path):
    base = parse_file(FIXTURES / "k6" / "peak_fail.ndjson")
    berlin = timezone(timedelta(hours=1))
    shifted = []
    for d in DICTS:
        if d["type"] == "Point":
            t = d["data"]["time"]  # "...T03:23:36.847453081Z": keep the nanoseconds
            local = datetime.fromisoformat(t[:19] + "+00:00").astimezone(berlin)
            t = f"{local:%Y-%m-%dT%H:%M:%S}{t[19:-1]}+01:00"
            d = {**d, "data": {**d["data"], "time": t}}
        shifted.append(d)
    r = parse_file(write(tmp_path, shifted))
    assert r.started_at == base.started_at and r.ended_at == base.ended_at
    assert r.overall == base.overall and r.series == base.series


def test_old_k6_without_http_req_failed_counts_status_and_error_codes(tmp_path):
    base = parse_file(FIXTURES / "k6" / "peak_fail.ndjson")
    old = []
    for d in DICTS:
        if d.get("metric") == "http_req_failed":
            continue
        if d["type"] == "Point":
            tags = {k: v for k, v in (d["data"]["tags"] or {}).items() if k != "expected_response"}
            d = {"type": "Point", "data": {**d["data"], "tags": tags}, "metric": d["metric"]}
        old.append(d)
    r = parse_file(write(tmp_path, old))
    assert r.overall.failed == base.overall.failed > 0
    assert any("k6 < v0.31" in w for w in r.warnings)


def test_progress_reports_on_disk_bytes(tmp_path):
    calls = []
    path = FIXTURES / "k6" / "spike.ndjson.gz"
    r = parse_file(path, progress=lambda done, total, lines: calls.append((done, total, lines)))
    assert calls and calls[-1][0] == calls[-1][1] == path.stat().st_size
    assert calls[-1][2] == r.lines and len(calls) <= 3  # throttled: a fast parse reports little
    plain = tmp_path / "spike.ndjson"
    plain.write_bytes(gzip.decompress(path.read_bytes()))
    calls.clear()
    parse_file(plain, progress=lambda *a: calls.append(a))
    assert calls[-1][:2] == (plain.stat().st_size, plain.stat().st_size)


def test_results_are_strict_json():
    for name in ("k6/peak_fail.ndjson", "k6/peak_fail.summary-export.json", "locust/run"):
        d = parse_file(FIXTURES / name).to_dict()
        json.dumps(d, allow_nan=False)
        assert isinstance(d["overall"]["requests"], int)


def test_an_exception_from_progress_cancels_the_parse_unchanged():
    class Cancelled(Exception):
        pass

    def cancel(*_):
        raise Cancelled

    for name in ("k6/spike.ndjson.gz", "k6/peak_pass.summary-export.json", "locust/run"):
        with pytest.raises(Cancelled):
            parse_file(FIXTURES / name, progress=cancel)
