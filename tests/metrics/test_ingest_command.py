"""`manage.py ingest_results` as a user runs it: its parse starts in a child process before
Django loads (metrics/parsers/ahead.py) and must give exactly what an in-process parse gives."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from metrics.parsers import ParseError, ahead, parse_file
from tests.support.server import running_server

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "k6"


@pytest.mark.slow
def test_the_command_from_a_terminal_ingests_what_the_parser_reads(tmp_path):
    bad = tmp_path / "broken.ndjson"
    good = (FIXTURES / "peak_fail.ndjson").read_bytes()
    bad.write_bytes(good[:2000] + b"\n{not json}\n" + good[2000:])
    with running_server(start=False) as board:
        path = str(FIXTURES / "peak_fail.ndjson")
        args = ("ingest_results", path, "--launch", "whatsapp-saas", "--test", "peak", "--json")
        first = json.loads(board.manage(*args).stdout)["runs"][0]
        again = json.loads(board.manage(*args).stdout)["runs"][0]
        refused = board.manage("ingest_results", str(bad), "--launch", "whatsapp-saas", check=False)
    expected = parse_file(path)
    assert first["duplicate"] is False and again == first | {"duplicate": True}
    assert first["overall"]["requests"] == expected.overall.requests
    assert first["overall"]["p95_ms"] == pytest.approx(expected.overall.p95_ms)
    assert first["scenarios"].keys() == expected.scenarios.keys()
    assert refused.returncode == 2
    with pytest.raises(ParseError) as raised:
        parse_file(bad)
    assert refused.stderr.strip().endswith(f"{bad}: {raised.value}")


def test_a_parse_started_ahead_returns_the_parsers_result_and_errors():
    path = str(FIXTURES / "peak_pass.ndjson")
    ahead.start(["manage.py", "ingest_results", path, "--launch", "x", "--format", "k6-json"])
    started = ahead.take(path)
    seen = []
    result = started.result(lambda done, total, lines: seen.append((done, total)))
    assert result.overall == parse_file(path).overall
    assert seen and seen[-1][0] == seen[-1][1]  # progress came through, to the end
    assert ahead.take(path) is None  # taken once


def test_a_parse_error_in_the_child_is_the_same_parse_error(tmp_path):
    bad = tmp_path / "empty.ndjson"
    bad.write_bytes(b"\n")
    started = ahead.Ahead(str(bad), "k6-json")
    with pytest.raises(ParseError) as raised:
        started.result()
    with pytest.raises(ParseError) as direct:
        parse_file(bad, "k6-json")
    assert str(raised.value) == str(direct.value)


def test_other_commands_start_nothing():
    ahead.start(["manage.py", "import_plan", str(FIXTURES / "peak_pass.ndjson")])
    assert ahead.take(str(FIXTURES / "peak_pass.ndjson")) is None
