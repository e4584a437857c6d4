"""JMeter JTL results (CSV and XML) against JMeter's own Aggregate Report arithmetic.

The files in tests/fixtures/jmeter/ were written by JMeter 2.x-5.x and committed to public
repositories (SOURCES.md keeps each one's repository and commit). JMeter cannot run on this
machine, so the reference is computed here the way its report does, independently of the
parser: every row read by Python's csv module (or ElementTree), every elapsed value kept,
sorted, and StatCalculator.getPercentPoint's nearest rank taken with the Float percentiles the
report passes (0.9f, 0.95f, 0.99f widened to double; 0.5 for the median).
"""

from __future__ import annotations

import csv
import gzip
import io
import math
import shutil
import struct
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metrics.parsers import ParseError, detect_format, jmeter, parse_file

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "jmeter"
LEAD = ("timeStamp", "elapsed", "label", "responseCode", "responseMessage", "threadName",
        "dataType", "success")  # fmt: skip


def f32(x: float) -> float:
    return struct.unpack("f", struct.pack("f", x))[0]


PERCENTS = {"p50_ms": 0.5, "p90_ms": f32(0.9), "p95_ms": f32(0.95), "p99_ms": f32(0.99)}


def is_xml(path: Path) -> bool:
    return path.read_bytes().lstrip().startswith(b"<")


def jtl_files() -> list[str]:
    return sorted(p.name for p in FIXTURES.iterdir() if p.suffix in (".jtl", ".xml", ".csv"))


# -- the reference ----------------------------------------------------------------------------


def reference(path: Path) -> dict:
    """{label: figures, "TOTAL": figures} as JMeter's Aggregate Report computes them."""
    samples = reference_xml(path) if is_xml(path) else reference_csv(path)
    per: dict[str, list] = {}
    for label, elapsed, success, count, errors in samples:
        per.setdefault(label, []).append((elapsed, success, count, errors))
    per["TOTAL"] = [s for label in list(per) for s in per[label]]
    return {label: figures(rows) for label, rows in per.items()}


def figures(rows: list[tuple]) -> dict:
    values, total, n, failed = [], 0, 0, 0
    for elapsed, _success, count, errors in rows:
        # StatCalculator.addValue(elapsed, sampleCount): elapsed / sampleCount counted
        # sampleCount times (long division), the sum gets elapsed once
        values += [elapsed // count if count > 1 else elapsed] * count
        total += elapsed
        n += count
        failed += errors
    values.sort()
    out = {"requests": n, "failed": failed}
    for key, p in PERCENTS.items():
        target = math.floor(n * p + 0.5)  # Java's Math.round
        out[key] = values[max(target, 1) - 1]
    out["min_ms"], out["max_ms"] = values[0], values[-1]
    out["avg_ms"] = total / n
    return out


def reference_csv(path: Path) -> list[tuple]:
    text = path.read_bytes().decode("latin-1")  # every byte kept; labels decoded below
    first = text.split("\n", 1)[0]
    delimiter = next(d for d in ",;\t|" if d in first)
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    if "elapsed" in [h.strip() for h in rows[0]]:
        header, rows = [h.strip() for h in rows[0]], rows[1:]
    else:
        header = [*LEAD, *(f"x{i}" for i in range(len(rows[0]) - len(LEAD)))]
    col = {name: i for i, name in reversed(list(enumerate(header)))}
    out = []
    for row in rows:
        if len(row) < len(header):
            continue  # the last row, cut off when JMeter stopped
        success = row[col["success"]].strip().lower() == "true"
        count = int(row[col["SampleCount"]]) if "SampleCount" in col else 1
        errors = int(row[col["ErrorCount"]]) if "ErrorCount" in col else int(not success)
        label = row[col["label"]].encode("latin-1").decode("utf-8")
        out.append((label, int(row[col["elapsed"]]), success, count, errors))
    return out


def reference_xml(path: Path) -> list[tuple]:
    text = path.read_text("utf-8")
    if "</testResults>" not in text:
        text += "</testResults>"  # JMeter stopped before closing it
    out = []
    for sample in ET.fromstring(text):  # noqa: S314 - our fixtures; top-level samples only
        if sample.tag not in ("httpSample", "sample"):
            continue
        success = sample.get("s") == "true"
        count = int(sample.get("sc", "1"))
        errors = int(sample.get("ec", "0" if success else "1"))
        out.append((sample.get("lb", ""), int(sample.get("t")), success, count, errors))
    return out


def figures_of(stats) -> dict:
    return {
        "requests": stats.requests,
        "failed": stats.failed,
        **{k: getattr(stats, k) for k in (*PERCENTS, "min_ms", "max_ms")},
        "avg_ms": pytest.approx(stats.avg_ms),
    }


# -- every real file ------------------------------------------------------------------------


@pytest.mark.parametrize("name", jtl_files())
def test_every_real_jtl_gives_jmeters_own_figures(name):
    path = FIXTURES / name
    run = parse_file(path)
    expected = reference(path)
    got = {"TOTAL": figures_of(run.overall), **{k: figures_of(v) for k, v in run.endpoints.items()}}
    assert got == {label: {**f, "avg_ms": f["avg_ms"]} for label, f in expected.items()}
    assert run.tool == "jmeter"
    assert run.format == ("jmeter-xml" if is_xml(path) else "jmeter-csv")
    assert detect_format(path) == run.format
    assert run.scenarios == {"default": run.overall}


@pytest.mark.parametrize("name", jtl_files())
def test_block_boundaries_change_nothing(name, monkeypatch):
    """Blocks of 200 bytes cut quoted fields, rows and multi-line messages everywhere; the
    figures and the series stay what one big block gives (but for a second's p95, which
    leaves out samples written more than 5 s after it was settled: with smaller
    blocks a second settles sooner)."""
    path = FIXTURES / name

    def seen(run):
        out = run.to_dict()
        out["series"] = [{k: v for k, v in p.items() if k != "p95_ms"} for p in out["series"]]
        out["warnings"] = [w for w in out["warnings"] if "were written more than" not in w]
        return out

    whole = seen(parse_file(path))
    monkeypatch.setattr(jmeter, "BLOCK", 200)
    monkeypatch.setattr(jmeter, "CHUNK", 200)
    assert seen(parse_file(path)) == whole


def test_the_facts_of_the_files_as_collected():
    """Counts measured when the files were collected (SOURCES.md), as the parser reads them."""
    facts = {
        "jmeter5_default_csv_failures.jtl": (200, 6, 4),
        "jmeter3x4x_default_csv_no_url.jtl": (118, 34, 38),
        "noheader_jmeter5_columns_failures.jtl": (130, 80, 63),
        "noheader_jmeter2_default_columns.jtl": (2046, 61, 1),
        "xml_subresults_redirects.xml": (300, 0, 1),
        "xml_simple_sample_variables.jtl": (12, 0, 9),
        "xml_simple_unterminated.jtl": (1664, 0, 1),
        "csv_transaction_controller_failures.jtl": (748, 136, 5),
        "taurus_kpi_custom_csv_hostname.jtl": (20, 14, 1),
        "custom_csv_datetime_millis_hostname.jtl": (65, 65, 5),
    }
    for name, (samples, failed, labels) in facts.items():
        run = parse_file(FIXTURES / name)
        assert (run.overall.requests, run.overall.failed, len(run.endpoints)) == (
            samples,
            failed,
            labels,
        ), name


def test_xml_sub_results_belong_to_their_parent():
    run = parse_file(FIXTURES / "xml_subresults_redirects.xml")
    assert run.overall.requests == 300  # not 700: the 400 redirect hops are inside them
    assert list(run.endpoints) == ["HTTP Request"]
    assert any("400 sub-result(s)" in w for w in run.warnings)


def test_headerless_files_are_read_with_jmeters_leading_columns():
    for name in ("noheader_jmeter5_columns_failures.jtl", "noheader_jmeter2_default_columns.jtl"):
        run = parse_file(FIXTURES / name)
        assert any("no header line" in w for w in run.warnings)


def test_a_file_jmeter_appended_several_runs_to_says_so():
    run = parse_file(FIXTURES / "jmeter3x4x_default_csv_no_url.jtl")
    warning = next(w for w in run.warnings if "runs in one file" in w)
    assert warning.startswith("4 runs in one file")
    # the pause of 4 hours is two empty points, not 14,000 seconds of them
    assert len(run.series) < 400
    busy = [p for p in run.series if p.requests]
    assert sum(p.requests for p in busy) == run.overall.requests - 3  # 3 never started
    assert any("3 sample(s) have timeStamp 0" in w for w in run.warnings)


def test_sample_count_and_error_count_columns_weigh_rows():
    run = parse_file(FIXTURES / "custom_csv_samplecount_errorcount_variable.jtl")
    assert run.overall.requests == 1226
    assert run.overall.failed == 349
    assert any("335 sample(s) have timeStamp 0" in w for w in run.warnings)
    assert run.started_at.year == 2016  # the never-started samples' 0 is not the start


def test_date_time_stamps_and_a_row_cut_off_mid_write():
    run = parse_file(FIXTURES / "custom_csv_datetime_seconds_transactions_truncated.jtl")
    assert not run.complete
    assert "last line (1127) is cut off" in run.incomplete_reason
    assert run.overall.requests == 1125
    assert run.started_at.isoformat() == "2019-12-05T12:37:24+00:00"
    assert any("read as UTC" in w for w in run.warnings)
    millis = parse_file(FIXTURES / "custom_csv_datetime_millis_hostname.jtl")
    assert millis.started_at.isoformat() == "2017-05-15T09:09:25.245000+00:00"


def test_an_xml_jtl_jmeter_did_not_close_is_used_and_marked_incomplete():
    run = parse_file(FIXTURES / "xml_simple_unterminated.jtl")
    assert not run.complete and "</testResults>" in run.incomplete_reason
    assert run.overall.requests == 1664


def test_transaction_controller_rows_count_as_their_own_label():
    """Without "generate parent sample" JMeter writes the transaction's row after its
    children's (its message quoted: it holds a comma); its report counts both."""
    run = parse_file(FIXTURES / "csv_transaction_controller_failures.jtl")
    assert run.endpoints["Transaction Controller"].requests == 149
    assert sum(s.requests for s in run.endpoints.values()) == run.overall.requests == 748


def test_series_span_and_throughput():
    run = parse_file(FIXTURES / "jmeter5_default_csv_failures.jtl")
    rows = reference_rows(FIXTURES / "jmeter5_default_csv_failures.jtl")
    first = min(ts for ts, _ in rows)
    last = max(ts + el for ts, el in rows)
    assert run.started_at.timestamp() * 1000 == pytest.approx(first)
    assert run.ended_at.timestamp() * 1000 == pytest.approx(last)
    assert run.duration_s == pytest.approx((last - first) / 1000)
    assert run.overall.rps == pytest.approx(200 / ((last - first) / 1000))
    assert sum(p.requests for p in run.series) == 200
    assert sum(p.failures for p in run.series) == 6
    threads = {int(r["allThreads"]) for r in csv.DictReader(io.StringIO(path_text()))}
    assert {p.vus for p in run.series if p.vus is not None} <= threads


def path_text() -> str:
    return (FIXTURES / "jmeter5_default_csv_failures.jtl").read_text()


def reference_rows(path: Path) -> list[tuple[int, int]]:
    rows = list(csv.DictReader(io.StringIO(path.read_text())))
    return [(int(r["timeStamp"]), int(r["elapsed"])) for r in rows]


def test_gzip_jtl(tmp_path):
    src = FIXTURES / "csv_transaction_controller_failures.jtl"
    gz = tmp_path / "results.jtl.gz"
    gz.write_bytes(gzip.compress(src.read_bytes()))
    assert parse_file(gz).overall == parse_file(src).overall


# -- generated files against the reference ---------------------------------------------------

LABELS = st.sampled_from(["Login", "GET /api/m", "POST /send, v2", 'say "hi"', "获取接口", ""])
MESSAGES = st.sampled_from(["OK", "Number of samples in transaction : 2, failing : 1",
                            "line one\nline two", 'expected ""id""', ""])  # fmt: skip


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=st.lists(
        st.tuples(
            st.integers(0, 3000),  # start offset, ms
            st.integers(0, 70_000),  # elapsed
            LABELS,
            st.booleans(),
            MESSAGES,
            st.integers(1, 30),  # allThreads
        ),
        min_size=1,
        max_size=120,
    ),
    block=st.sampled_from([120, 333, 1 << 15]),
)
def test_generated_jtls_equal_the_reference(rows, block, tmp_path, monkeypatch):
    monkeypatch.setattr(jmeter, "BLOCK", block)
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*LEAD, "failureMessage", "bytes", "allThreads"])
    for i, (offset, elapsed, label, ok, message, threads) in enumerate(rows):
        code = "200" if ok else "500"
        start = 1767000000000 + offset + i
        failure = "" if ok else message
        writer.writerow(
            [
                start,
                elapsed,
                label,
                code,
                message,
                "TG",
                "text",
                str(ok).lower(),
                failure,
                10,
                threads,
            ]
        )
    path = tmp_path / "gen.jtl"
    path.write_bytes(out.getvalue().encode("utf-8"))
    run = parse_file(path)
    expected = reference(path)
    assert figures_of(run.overall) == expected["TOTAL"]
    assert {k: figures_of(v) for k, v in run.endpoints.items()} == {
        k: v for k, v in expected.items() if k != "TOTAL"
    }
    assert sum(p.requests for p in run.series) == len(rows)


# -- bad input -----------------------------------------------------------------------------------

HEADER = "timeStamp,elapsed,label,responseCode,responseMessage,threadName,dataType,success\n"
GOOD = "1767000000000,12,Login,200,OK,TG 1-1,text,true\n"


@pytest.mark.parametrize(
    ("content", "line", "words"),
    [
        (HEADER + GOOD * 3 + GOOD.replace(",12,", ",abc,"), 5, "elapsed 'abc' is not a whole"),
        (HEADER + GOOD + GOOD.replace("true", "maybe"), 3, "success 'maybe' is neither"),
        (HEADER + GOOD + "1767000000000,12,Login\n" + GOOD, 3, "3 fields"),
        (HEADER + GOOD.replace("1767000000000", "yesterday"), 2, "neither epoch ms nor a date"),
        (HEADER.replace(",success", ",ok"), 1, "without the success column"),
        (GOOD.replace("true", "text"), 1, "8th field is not success"),
        (HEADER, None, "no samples"),
    ],
)
def test_bad_csv_says_the_line_and_why(tmp_path, content, line, words):
    path = tmp_path / "bad.jtl"
    path.write_text(content)
    with pytest.raises(ParseError) as err:
        parse_file(path)
    assert err.value.line == line
    assert words in err.value.message


XML_HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n<testResults version="1.2">\n'
SAMPLE = '<httpSample t="12" ts="1767000000000" s="true" lb="Login" rc="200"/>\n'


@pytest.mark.parametrize(
    ("content", "line", "words"),
    [
        (XML_HEAD + SAMPLE + SAMPLE.replace('t="12"', 't="x"'), 4, "t=...> is 'x'"),
        (XML_HEAD + SAMPLE.replace('s="true"', 's="yes"'), 3, "neither true nor false"),
        (XML_HEAD + SAMPLE + "<httpSample t=\n" + SAMPLE + "</testResults>", 5, "not well-formed"),
        ('<?xml version="1.0"?>\n<results/>', None, "not a JMeter result (no <testResults>"),
        (
            '<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 '
            '"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>\n<testResults>&lol2;</testResults>',
            2,
            "DTD or entity declaration",
        ),
        (XML_HEAD + "</testResults>\n", None, "no samples"),
    ],
)
def test_bad_xml_says_the_line_and_why(tmp_path, content, line, words):
    path = tmp_path / "bad.jtl"
    path.write_text(content)
    with pytest.raises(ParseError) as err:
        parse_file(path)
    assert err.value.line == line
    assert words in err.value.message


def test_forcing_the_wrong_jmeter_format_is_refused(tmp_path):
    xml = tmp_path / "r.jtl"
    shutil.copy(FIXTURES / "xml_simple_sample_variables.jtl", xml)
    with pytest.raises(ParseError, match="an XML JTL: give --format jmeter-xml"):
        parse_file(xml, "jmeter-csv")
    with pytest.raises(ParseError, match="not XML"):
        parse_file(FIXTURES / "jmeter5_default_csv_failures.jtl", "jmeter-xml")


def test_timeouts_are_named_by_jmeters_exception():
    """JMeter writes a timed-out sample's responseCode as 'Non HTTP response code:
    java.net.SocketTimeoutException'; refused connections (HttpHostConnectException) are
    failures but not timeouts."""
    path = FIXTURES / "csv_read_timeouts_jmeter5.jtl"
    run = parse_file(path)
    rows = list(csv.DictReader(io.StringIO(path.read_text())))
    timed_out = [r for r in rows if r["responseCode"].endswith("SocketTimeoutException")]
    assert run.timeout_breakdown == {"java.net.SocketTimeoutException": len(timed_out)}
    assert run.overall.timeouts == len(timed_out) == 205
    by_label = {}
    for r in timed_out:
        by_label[r["label"]] = by_label.get(r["label"], 0) + 1
    assert {k: v.timeouts for k, v in run.endpoints.items() if v.timeouts} == by_label


def test_a_quote_never_closed_is_refused_not_read_into_memory(tmp_path):
    path = tmp_path / "open.jtl"
    with path.open("w") as f:
        f.write(HEADER + GOOD + '1767000000000,12,"Login,200,OK,TG 1-1,text,true\n')
        for _ in range(40_000):
            f.write(GOOD)  # 2 MB that would all be one quoted field
    with pytest.raises(ParseError) as err:
        parse_file(path)
    assert err.value.line == 3
    assert "quote never closed" in err.value.message


def test_a_line_of_megabytes_is_refused(tmp_path):
    path = tmp_path / "long.jtl"
    path.write_bytes(HEADER.encode() + GOOD.encode() + b"1767000000000,12," + b"x" * (2 << 20))
    with pytest.raises(ParseError, match="longer than 1 MiB"):
        parse_file(path)


def test_odd_but_valid_rows_read_the_same_on_either_path(tmp_path, monkeypatch):
    """Leading zeros, a label with spaces around it, upper-case TRUE: the block is read row by
    row, and the figures are those of the plain rows."""
    plain = tmp_path / "plain.jtl"
    plain.write_text(HEADER + GOOD.replace("Login", " Login ") * 3)
    odd = tmp_path / "odd.jtl"
    odd.write_text(
        HEADER
        + GOOD.replace("Login", " Login ")
        + GOOD.replace(",12,", ",012,").replace("Login", " Login ")
        + GOOD.replace("true", "TRUE").replace("Login", " Login ")
    )
    a, b = parse_file(plain), parse_file(odd)
    assert list(a.endpoints) == list(b.endpoints) == [" Login "]
    assert a.overall == b.overall


def test_labels_not_in_utf8_are_decoded_and_the_encoding_said(tmp_path):
    """A JTL written under a Chinese Windows locale: the labels' bytes are GBK."""
    rows = [
        GOOD.replace("Login", "获取接口"),
        GOOD.replace("Login", "慢接口").replace(",12,", ",40,"),
    ]
    path = tmp_path / "gbk.jtl"
    path.write_bytes((HEADER + "".join(rows * 5)).encode("gbk"))
    run = parse_file(path)
    assert run.encoding == "gb18030"
    assert set(run.endpoints) == {"获取接口", "慢接口"}
    assert run.endpoints["慢接口"].p95_ms == 40
    assert any("decoded as gb18030" in w for w in run.warnings)


@pytest.mark.parametrize(
    "name",
    ["jmeter5_default_csv_failures.jtl", "xml_subresults_redirects.xml"],
)
def test_an_upload_still_arriving_is_read_once(tmp_path, name):
    """The API parses an upload while it arrives (uploads.GrowingFile): the stream can be
    read once, so the parser must not open it twice."""
    from metrics import uploads

    stored = tmp_path / "5e1d.upload"
    shutil.copy(FIXTURES / name, stored)
    (tmp_path / "5e1d.upload.done").touch()
    fmt = detect_format(stored)
    with uploads.GrowingFile(stored) as growing:
        run = parse_file(growing, fmt)
    assert run.overall == parse_file(FIXTURES / name).overall


def test_leading_blank_lines_and_zoned_date_times(tmp_path):
    path = tmp_path / "zoned.jtl"
    path.write_text("\n\n" + HEADER + GOOD.replace("1767000000000", "2026-01-05T10:00:00.123+0800"))
    run = parse_file(path)
    assert run.started_at.isoformat() == "2026-01-05T02:00:00.123000+00:00"
    assert not any("read as UTC" in w for w in run.warnings)


def test_a_full_last_row_with_a_bad_value_is_an_error_not_a_cut(tmp_path):
    path = tmp_path / "last.jtl"
    path.write_text(HEADER + GOOD + GOOD.replace(",12,", ",x,").rstrip("\n"))
    with pytest.raises(ParseError) as err:
        parse_file(path)
    assert err.value.line == 3
    short = tmp_path / "short.jtl"
    short.write_text(HEADER + GOOD + GOOD[:20])
    run = parse_file(short)
    assert not run.complete and run.overall.requests == 1


def test_an_xml_tag_of_megabytes_is_refused(tmp_path):
    path = tmp_path / "big.jtl"
    with path.open("w") as f:
        f.write(XML_HEAD + SAMPLE + '<httpSample t="1" ts="1767000000000" s="true" rm="')
        f.write("x" * (3 << 20))
    with pytest.raises(ParseError, match="a tag longer than 1 MiB"):
        parse_file(path)
    # a response saved with the sample (save.response_data) is text, read in pieces
    data = tmp_path / "data.jtl"
    body = '<responseData class="java.lang.String">' + "x" * (3 << 20) + "</responseData>"
    data.write_text(
        XML_HEAD + SAMPLE.replace("/>", ">" + body + "</httpSample>") + "</testResults>"
    )
    assert parse_file(data).overall.requests == 1


def test_an_xml_in_a_multibyte_code_page_is_refused_clearly(tmp_path):
    path = tmp_path / "gbk.jtl"
    path.write_bytes(
        b'<?xml version="1.0" encoding="GBK"?>\n<testResults>\n'
        + SAMPLE.replace("Login", "获取").encode("gbk")
        + b"</testResults>\n"
    )
    with pytest.raises(ParseError, match="an XML encoding this reader cannot read"):
        parse_file(path)


def test_labels_past_a_thousand_are_pooled(tmp_path, monkeypatch):
    """An id in a sampler's name makes a label per request: memory and the run's endpoints
    stay bounded; the overall figures stay exact."""
    path = tmp_path / "ids.jtl"
    path.write_text(HEADER + "".join(GOOD.replace("Login", f"GET /order/{i}") for i in range(1500)))
    run = parse_file(path)
    assert len(run.endpoints) == 1001
    assert run.endpoints["(other labels)"].requests == 500
    assert run.overall.requests == 1500
    assert any("more than 1000 labels" in w for w in run.warnings)
    monkeypatch.setattr(jmeter, "BLOCK", 300)
    assert parse_file(path).endpoints == run.endpoints


def test_threads_stuck_through_a_pause_are_not_a_new_run(tmp_path):
    """Every thread waits 90 s on a timeout: nothing ends for 90 s, but it is one run."""
    rows = [GOOD.replace("1767000000000", str(1767000000000 + i * 100)) for i in range(20)]
    stuck = GOOD.replace("1767000000000", "1767000002000").replace(",12,", ",90000,")
    after = [GOOD.replace("1767000000000", str(1767000092500 + i * 100)) for i in range(5)]
    path = tmp_path / "stuck.jtl"
    path.write_text(HEADER + "".join(rows) + stuck.replace("true", "false") + "".join(after))
    run = parse_file(path)
    assert not any("runs in one file" in w for w in run.warnings)
    appended = tmp_path / "appended.jtl"
    appended.write_text(HEADER + "".join(rows) + "".join(after))
    assert any(w.startswith("2 runs in one file") for w in parse_file(appended).warnings)
