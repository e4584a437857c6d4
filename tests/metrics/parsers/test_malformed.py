"""Bad input (reliability.md U4, U5, U6, U11): always a ParseError with a clear message.

These are the only hand-written inputs; they are built from a real fixture where possible.
"""

from __future__ import annotations

import gzip

import orjson
import pytest

from metrics.parsers import ParseError, parse_file

from .conftest import FIXTURES

REAL = (FIXTURES / "k6" / "peak_pass.ndjson").read_bytes()
LINES = REAL.splitlines()
LOCUST = (FIXTURES / "locust" / "run_stats.csv").read_text()


def first(metric: str) -> int:
    """Index of the first Point line of `metric` in LINES."""
    return next(
        i
        for i, line in enumerate(LINES)
        if line.startswith(b'{"metric":"%s","type":"Point"' % metric.encode())
    )


def write(tmp_path, data: bytes, name="input") -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def error(tmp_path, data: bytes) -> ParseError:
    with pytest.raises(ParseError) as info:
        parse_file(write(tmp_path, data))
    return info.value


def with_line(index: int, new: bytes) -> bytes:
    lines = list(LINES)
    lines[index] = new
    return b"\n".join(lines) + b"\n"


def edit_point(index: int, **data) -> bytes:
    d = orjson.loads(LINES[index])
    d["data"].update(data)
    return with_line(index, orjson.dumps(d))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "file is empty"),
        (b"\n\n  \n", "file is empty"),
        (b"\x7fELF\x02\x01\x01\x00\x00\x00binary", "binary"),
        (b"\x89PNG\r\n\x1a\n\xff\xfe\xfd", "binary"),
        (b'{"foo": 1, "bar": [1, 2]}\n', "JSON that is not a k6 result"),
        (b'[{"metric": "http_reqs"}]\n', "JSON array"),
        (b"a,b,c\n1,2,3\n", "not a Locust stats CSV: missing columns Type, Name, Request Count"),
        (b"Type,Failure Count\nGET,0\n", "missing columns Name, Request Count"),
        (b"hello world\n", "unknown format"),
    ],
)
def test_unknown_or_wrong_formats(tmp_path, data, message):
    assert message in str(error(tmp_path, data))


def test_error_string_has_the_line_number(tmp_path):
    e = error(tmp_path, with_line(2, b'{"foo":1}'))
    assert (e.line, e.message) == (
        3,
        'not a k6 JSON line (expected an object with "type": "Metric" or "Point")',
    )
    assert str(e).startswith("line 3: not a k6 JSON line")


def gzip_bomb(head: bytes, filler: bytes, members: int) -> bytes:
    """`head`, then `members` copies of one gzip member holding 16 MiB of `filler`: a ~10 MiB
    file can stand for 10 GiB this way (concatenated members are valid gzip)."""
    member = gzip.compress(filler * ((16 << 20) // len(filler)), compresslevel=9)
    return gzip.compress(head) + member * members


@pytest.mark.parametrize("filler", [b"\n", b"\0"], ids=["empty-lines", "zeros"])
def test_a_gzip_bomb_is_refused_at_the_decompression_limit(tmp_path, filler):
    bomb = gzip_bomb(REAL, filler, members=640)  # 10 GiB decompressed
    assert len(bomb) < 12 << 20
    e = error(tmp_path, bomb)
    assert "decompression limit" in str(e) or "line longer than" in str(e)
    if filler == b"\n":  # empty lines are valid NDJSON: only the ratio guard stops them
        assert "expands more than 200:1" in str(e)


def test_real_gzip_output_is_well_under_the_ratio_guard(tmp_path):
    plain = REAL * 120  # ~22 MiB: past the guard's floor (gzip's 32 KiB window sees no repeat)
    path = write(tmp_path, gzip.compress(plain, compresslevel=9), "big.ndjson.gz")
    assert len(plain) > 16 << 20
    assert (
        parse_file(path).overall.requests
        == 120 * parse_file(write(tmp_path, REAL, "one.ndjson")).overall.requests
    )


def test_truncated_gzip(tmp_path):
    gz = gzip.compress(REAL)
    assert str(error(tmp_path, gz[: len(gz) // 2])) == "gzip file is truncated"
    assert "truncated" in str(error(tmp_path, gz[:-3]))


def test_cut_at_the_end_is_incomplete_not_an_error(tmp_path):
    cut = REAL[: len(REAL) - 40]  # mid-line, no trailing newline
    r = parse_file(write(tmp_path, cut))
    assert not r.complete and "cut off" in r.incomplete_reason
    whole = parse_file(write(tmp_path, REAL[: REAL.rfind(b"\n", 0, len(cut)) + 1], "whole"))
    assert r.overall == whole.overall and whole.complete
    r2 = parse_file(write(tmp_path, REAL.rstrip(b"\n"), "nonl"))
    assert not r2.complete and "newline" in r2.incomplete_reason


@pytest.mark.parametrize(
    "metric", ["http_reqs", "http_req_duration", "http_req_blocked", "http_req_failed", "checks"]
)
def test_cut_in_the_middle_is_an_error(tmp_path, metric):
    i = first(metric)
    e = error(tmp_path, with_line(i, LINES[i][: len(LINES[i]) // 2]))
    assert e.line == i + 1


def test_zero_requests(tmp_path):
    only_vus = b"\n".join(line for line in LINES if b'"metric":"vus' in line) + b"\n"
    assert str(error(tmp_path, only_vus)) == "no HTTP requests in this run"
    locust = "\n".join(
        line if not line.startswith(",Aggregated") else ",Aggregated,0,0,0,0,0,0,0,0,0" + ",0" * 11
        for line in LOCUST.splitlines()
    )
    assert str(error(tmp_path, locust.encode())) == "no HTTP requests in this run"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("NaN", "value NaN is not a number"),
        ("Infinity", "value Infinity is not a number"),
        ("-5", "negative duration"),
        ("1e308", "implausibly large"),
        ('"12"', "must be a number"),
    ],
)
def test_bad_duration_values(tmp_path, value, message):
    i = first("http_req_duration")
    line = LINES[i].replace(b'"value":', b'"value":' + value.encode() + b',"x":', 1)
    e = error(tmp_path, with_line(i, line))
    assert message in e.message and e.line == i + 1


def test_wrong_field_types_and_unknown_metric_type(tmp_path):
    i = first("http_reqs")
    assert "tags" in error(tmp_path, edit_point(i, tags={"status": 200})).message
    assert "time" in error(tmp_path, edit_point(i, time=12)).message
    assert (
        "outside the years" in error(tmp_path, edit_point(i, time="2999-01-01T00:00:00Z")).message
    )
    metric = b'{"type":"Metric","data":{"name":"x","type":"histogram"},"metric":"x"}'
    e = error(tmp_path, with_line(0, metric))
    assert 'unknown metric type "histogram"' in e.message and e.line == 1
    undeclared = (
        b'{"metric":"mystery","type":"Point","data":'
        b'{"time":"2026-11-27T00:00:00Z","value":1,"tags":{}}}'
    )
    assert "before its Metric line" in error(tmp_path, with_line(5, undeclared)).message


def test_invalid_utf8_and_deep_nesting(tmp_path):
    i = first("http_reqs")
    bad = LINES[i].replace(b'"GET /ok"', b'"GET /\xff\xfe"', 1)
    assert error(tmp_path, with_line(i, bad)).message == "not valid UTF-8 text"
    deep = b'{"type":"Point","data":' + b"[" * 200_000 + b"]" * 200_000 + b"}"
    assert "nested too deeply" in error(tmp_path, with_line(5, deep)).message


def test_huge_single_line(tmp_path):
    huge = b'{"metric":"http_reqs","type":"Point","data":{"time":"' + b"9" * (50 << 20)
    assert "longer than 1 MiB" in str(error(tmp_path, LINES[0] + b"\n" + huge + b"\n"))


def test_crlf_bom_and_old_key_order_parse_the_same(tmp_path):
    base = parse_file(write(tmp_path, REAL, "base")).to_dict()
    crlf = parse_file(write(tmp_path, b"\xef\xbb\xbf" + REAL.replace(b"\n", b"\r\n"), "crlf"))
    assert crlf.to_dict() == base
    old = b"".join(
        orjson.dumps({"type": d["type"], "data": d["data"], "metric": d["metric"]}) + b"\n"
        for d in map(orjson.loads, LINES)
    )
    assert parse_file(write(tmp_path, old, "old")).to_dict() == base


@pytest.mark.parametrize(
    ("csv_text", "message"),
    [
        (LOCUST.rsplit(",", 8)[0], "fields but the header has"),  # cut mid-row
        (LOCUST.replace(",Aggregated,", ",Aggregated,-", 1), "negative value"),
        (LOCUST.replace(",Aggregated,", ",Aggregated,abc", 1), "is not a number"),
        (LOCUST.replace(",Aggregated,", ",Aggregated,nan", 1), "is not a number"),
        ("\n".join(LOCUST.splitlines()[:-1]), "no Aggregated row"),
        (LOCUST.replace("GET /flaky", "x" * 140_000, 1), "not a readable CSV"),
    ],
)
def test_bad_locust_csv(tmp_path, csv_text, message):
    assert message in str(error(tmp_path, csv_text.encode()))


def test_locust_reordered_and_extra_columns(tmp_path):
    import csv
    import io

    rows = list(csv.reader(io.StringIO(LOCUST)))
    order = list(reversed(range(len(rows[0]))))
    out = io.StringIO()
    csv.writer(out).writerows([[r[i] for i in order] + ["extra"] for r in rows])
    moved = parse_file(write(tmp_path, out.getvalue().encode(), "moved.csv"))
    orig = parse_file(write(tmp_path, LOCUST.encode(), "orig.csv"))
    assert moved.overall == orig.overall and moved.endpoints == orig.endpoints


def test_formula_looking_names_are_plain_text(tmp_path):
    text = LOCUST.replace("GET /flaky", "=HYPERLINK(1)", 1)
    r = parse_file(write(tmp_path, text.encode(), "f.csv"))
    assert "GET =HYPERLINK(1)" in r.endpoints


def test_summary_errors(tmp_path):
    assert 'no "metrics" object' in str(error(tmp_path, b'{\n "metric": 1\n}\n'))
    bad = b'{"metrics": {"http_reqs": {"count": "many"}}}'
    assert "must be a number" in str(error(tmp_path, bad))
    none = b'{"metrics": {"vus": {"value": 1, "min": 1, "max": 1}}}'
    assert str(error(tmp_path, none)) == "no HTTP requests in this run"
    deep = b"{\n" + b"[" * 100_000 + b"]" * 100_000
    assert "nested too deeply" in str(error(tmp_path, deep)) or "JSON" in str(error(tmp_path, deep))
