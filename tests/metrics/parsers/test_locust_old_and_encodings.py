"""Locust <= 0.13.2's two CSVs, and Locust CSVs written in a code page that is not UTF-8.

`locust/old_run_*` were written by locustio 0.12.2 and `locust/gbk_run_*` by Locust 2.47.0
under a zh_CN.GBK locale (tests/fixtures/README.md); `locust/old/` holds files from public
repositories (locust/old/SOURCES.md): jmath1's 2018 pair and a GBK stats file written on a
Chinese Windows machine.
"""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

import pytest

from metrics.parsers import ParseError, detect_format, parse_file

LOCUST = Path(__file__).resolve().parents[2] / "fixtures" / "locust"


def rows(path: Path) -> list[dict]:
    return list(csv.DictReader(io.StringIO(path.read_text())))


@pytest.mark.parametrize("given", ["old_run", "old_run_requests.csv", "old_run_distribution.csv"])
def test_the_prefix_or_either_file_merges_counts_and_percentiles(given):
    run = parse_file(LOCUST / given)
    counts = {f"{r['Method']} {r['Name']}": r for r in rows(LOCUST / "old_run_requests.csv")}
    spread = {r["Name"]: r for r in rows(LOCUST / "old_run_distribution.csv")}
    total = counts.pop("None Aggregated")
    assert run.overall.requests == int(total["# requests"]) == 185
    assert run.overall.failed == int(total["# failures"]) == 28
    assert run.overall.p95_ms == float(spread["Aggregated"]["95%"])
    assert set(run.endpoints) == set(counts) == set(spread) - {"Aggregated"}
    for key, st in run.endpoints.items():
        assert st.requests == int(counts[key]["# requests"])
        assert st.failed == int(counts[key]["# failures"])
        assert st.avg_ms == float(counts[key]["Average response time"])
        for col, field in (
            ("50%", "p50_ms"),
            ("90%", "p90_ms"),
            ("95%", "p95_ms"),
            ("99%", "p99_ms"),
        ):
            assert getattr(st, field) == float(spread[key][col])
    assert detect_format(LOCUST / given) == "locust-csv"
    # locustio 0.12.2 counts failures among the requests; the file cannot say it is not 0.9
    assert run.warnings == [
        "old_run_requests.csv was written by Locust <= 0.13.2; if by a version before 0.10 "
        "(before January 2019), '# requests' counted successes only and the run had 213 "
        "requests, not 185"
    ]


def test_a_public_pair_with_the_total_row_of_locust_0_9():
    """jmath1's pair (October 2018): Locust 0.9, whose '# requests' counted successes."""
    run = parse_file(LOCUST / "old" / "example_requests.csv")
    assert (run.overall.requests, run.overall.failed) == (635, 1)
    assert "the run had 636 requests, not 635" in run.warnings[0]
    assert (run.overall.p50_ms, run.overall.p95_ms, run.overall.p99_ms) == (4, 6, 10)
    assert run.endpoints["GET /third-task"].p99_ms == 12


def test_the_counts_alone_invent_no_percentile(tmp_path):
    shutil.copy(LOCUST / "old_run_requests.csv", tmp_path / "x_requests.csv")
    run = parse_file(tmp_path / "x_requests.csv")
    assert run.overall.requests == 185
    assert run.overall.p50_ms == 2  # the counts file's own median
    assert (run.overall.p90_ms, run.overall.p95_ms, run.overall.p99_ms) == (None, None, None)
    assert any("x_distribution.csv" in w for w in run.warnings)


def test_the_percentiles_alone_are_refused(tmp_path):
    shutil.copy(LOCUST / "old_run_distribution.csv", tmp_path / "x_distribution.csv")
    with pytest.raises(ParseError, match=r"x_requests\.csv, which is not beside it"):
        parse_file(tmp_path / "x_distribution.csv")
    shutil.copy(LOCUST / "old_run_distribution.csv", tmp_path / "renamed.csv")
    with pytest.raises(ParseError, match="percentile file"):
        parse_file(tmp_path / "renamed.csv")


def test_files_of_different_runs_are_said_to_disagree(tmp_path):
    shutil.copy(LOCUST / "old_run_requests.csv", tmp_path / "x_requests.csv")
    text = (
        (LOCUST / "old_run_distribution.csv")
        .read_text()
        .replace('"GET /slow",50,', '"GET /slow",51,')
    )
    (tmp_path / "x_distribution.csv").write_text(text)
    run = parse_file(tmp_path / "x")
    assert any("GET /slow has 51 requests there, 50" in w for w in run.warnings)


# -- encodings -------------------------------------------------------------------------------


def test_a_gbk_locust_set_is_read_with_its_names():
    run = parse_file(LOCUST / "gbk_run")
    assert run.encoding == "gb18030"
    assert set(run.endpoints) == {"GET 失败接口", "GET 慢接口", "GET 获取接口"}
    raw = (LOCUST / "gbk_run_stats.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    table = {r["Name"]: r for r in csv.DictReader(io.StringIO(raw.decode("gbk")))}
    for name, st in run.endpoints.items():
        assert st.requests == int(table[name.split(" ", 1)[1]]["Request Count"])
    assert run.overall.requests == int(table["Aggregated"]["Request Count"]) == 169
    assert run.overall.failed == 5
    assert any("read as gb18030" in w for w in run.warnings)


def test_a_public_gbk_stats_file_from_windows():
    run = parse_file(LOCUST / "old" / "locust_stats_gbk.csv")
    assert run.encoding == "gb18030"
    assert list(run.endpoints) == ["GET get接口"]
    assert run.endpoints["GET get接口"].requests == 15


def test_text_in_no_known_encoding_is_refused_with_line_and_byte(tmp_path):
    head = (LOCUST / "run_stats.csv").read_bytes().split(b"\n", 1)[0]
    path = tmp_path / "mangled_stats.csv"
    path.write_bytes(head + b"\nGET,ok" + bytes(range(0x80, 0xA0)) * 4 + b",1,0\n")
    with pytest.raises(ParseError) as err:
        parse_file(path)
    assert "not UTF-8 and no known encoding fits it: line 2, byte 7 (0x80)" in str(err.value)


def test_utf8_files_say_no_encoding():
    assert parse_file(LOCUST / "run").encoding is None


@pytest.mark.parametrize(
    ("encoding", "names"),
    [
        ("cp1252", ["Página principal", "Iniciar sesión", "Búsqueda avanzada"]),
        ("cp1251", ["Главная страница", "Вход в систему", "Список сообщений"]),
        ("cp932", ["ログイン", "メッセージ一覧", "送信"]),
        ("cp949", ["로그인", "메시지 목록"]),
        ("big5", ["登入", "訊息列表"]),
    ],
)
def test_other_locales_code_pages(tmp_path, encoding, names):
    """The locust/run stats with its names replaced, written in another locale's code page."""
    lines = (LOCUST / "run_stats.csv").read_text().splitlines()
    header, rows = lines[0], [r for r in lines[1:] if not r.startswith(",Aggregated")]
    out = (
        [header]
        + [
            ",".join([row.split(",")[0], name, *row.split(",")[2:]])
            for row, name in zip(rows, names, strict=False)  # as many rows as names
        ]
        + [next(r for r in lines if r.startswith(",Aggregated"))]
    )
    path = tmp_path / "x_stats.csv"
    path.write_bytes("\n".join(out).encode(encoding) + b"\n")
    run = parse_file(path)
    assert run.encoding == encoding
    assert [k.split(" ", 1)[1] for k in run.endpoints] == names


def test_a_row_with_more_failures_than_requests_is_locust_before_0_10(tmp_path):
    """Before Locust 0.10 '# requests' counted successes: an endpoint that always failed
    shows 0 requests and 20 failures. Such a row says the version; failures are added."""
    text = (LOCUST / "old_run_requests.csv").read_text()
    text = text.replace('"GET","/fail",20,20,', '"GET","/fail",0,20,')
    text = text.replace('"None","Aggregated",185,28,', '"None","Aggregated",165,28,')
    (tmp_path / "x_requests.csv").write_text(text)
    shutil.copy(LOCUST / "old_run_distribution.csv", tmp_path / "x_distribution.csv")
    run = parse_file(tmp_path / "x_requests.csv")
    assert run.endpoints["GET /fail"].requests == 20
    assert run.endpoints["GET /fail"].error_rate == 1.0
    assert (run.overall.requests, run.overall.failed) == (193, 28)
    assert "counted successes only: the failures are added" in run.warnings[0]


def test_an_uploaded_counts_file_says_where_its_percentiles_are(tmp_path):
    """Uploads are stored as <uuid>.upload: no sibling can be found, and none is invented."""
    upload = tmp_path / "3f2a.upload"
    shutil.copy(LOCUST / "old_run_requests.csv", upload)
    run = parse_file(upload)
    assert run.overall.requests == 185 and run.overall.p95_ms is None
    assert any("PREFIX_distribution.csv" in w for w in run.warnings)


def test_a_gbk_stats_upload_still_arriving(tmp_path):
    from metrics import uploads

    stored = tmp_path / "77aa.upload"
    shutil.copy(LOCUST / "gbk_run_stats.csv", stored)
    (tmp_path / "77aa.upload.done").touch()
    with uploads.GrowingFile(stored) as growing:
        run = parse_file(growing, "locust-csv")
    assert run.encoding == "gb18030"
    assert run.overall.requests == 169
