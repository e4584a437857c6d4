"""JMeter JTLs, Locust <= 0.13.2's CSV pairs and non-UTF-8 CSVs through every way in: the
command (a terminal, CI), the API upload and the run's page."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import orjson
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from checklists.core.tokens import token_create
from checklists.models import Event
from metrics.models import Run
from metrics.parsers import parse_file

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
JTL = FIXTURES / "jmeter" / "csv_read_timeouts_jmeter5.jtl"
XML = FIXTURES / "jmeter" / "xml_subresults_redirects.xml"
GBK = FIXTURES / "locust" / "gbk_run"


def ingest(*args) -> dict:
    out = io.StringIO()
    call_command("ingest_results", *map(str, args), "--json", stdout=out)
    return orjson.loads(out.getvalue())["runs"][0]


@pytest.mark.parametrize(
    ("path", "tool", "fmt"),
    [
        (JTL, "jmeter", "jmeter-csv"),
        (XML, "jmeter", "jmeter-xml"),
        (FIXTURES / "jmeter" / "noheader_jmeter2_default_columns.jtl", "jmeter", "jmeter-csv"),
        (FIXTURES / "locust" / "old_run", "locust", "locust-csv"),
        (FIXTURES / "locust" / "old_run_distribution.csv", "locust", "locust-csv"),
        (GBK, "locust", "locust-csv"),
    ],
    ids=["jtl", "xml", "headerless", "old-prefix", "old-distribution", "gbk"],
)
def test_the_command_ingests_what_the_parser_reads(demo, path, tool, fmt):
    run = ingest(path, "--launch", "whatsapp-saas", "--test", "peak")
    parsed = parse_file(path)
    assert (run["tool"], run["format"], run["status"]) == (tool, fmt, "done")
    assert run["overall"]["requests"] == parsed.overall.requests
    assert run["overall"]["p95_ms"] == parsed.overall.p95_ms
    assert run["encoding"] == parsed.encoding
    assert run["timeout_breakdown"] == parsed.timeout_breakdown
    stored = Run.objects.get(pk=run["id"])
    assert stored.warnings == parsed.warnings


def test_either_file_of_an_old_locust_pair_is_the_same_run(demo, tmp_path):
    first = ingest(FIXTURES / "locust" / "old_run_requests.csv", "--launch", "whatsapp-saas")
    again = ingest(FIXTURES / "locust" / "old_run_distribution.csv", "--launch", "whatsapp-saas")
    assert again["duplicate"] and again["id"] == first["id"]
    # the hash covers both files: a changed percentile file is another run
    for name in ("old_run_requests.csv", "old_run_distribution.csv"):
        shutil.copy(FIXTURES / "locust" / name, tmp_path / name)
    changed = tmp_path / "old_run_distribution.csv"
    changed.write_text(changed.read_text().replace('"GET /slow",50,62', '"GET /slow",50,61'))
    other = ingest(tmp_path / "old_run", "--launch", "whatsapp-saas")
    assert not other["duplicate"]


def test_a_gbk_run_records_its_encoding_and_shows_it(demo, client, django_user_model):
    run = ingest(GBK, "--launch", "whatsapp-saas", "--test", "peak")
    assert run["encoding"] == "gb18030"
    assert set(run["endpoints"]) == {"GET 失败接口", "GET 慢接口", "GET 获取接口"}
    client.force_login(django_user_model.objects.create_user("eng"))
    page = client.get(f"/launches/whatsapp-saas/runs/{run['id']}/").content.decode()
    assert "read as <strong>gb18030</strong>" in page
    assert "获取接口" in page


def test_a_bad_jtl_names_its_line_and_stores_nothing(demo, tmp_path):
    before = (Run.objects.count(), Event.objects.count())
    bad = tmp_path / "results.jtl"
    lines = JTL.read_text().splitlines(keepends=True)
    lines[7] = lines[7].replace(",true,", ",perhaps,", 1).replace(",false,", ",perhaps,", 1)
    bad.write_text("".join(lines))
    with pytest.raises(CommandError) as exc:
        ingest(bad, "--launch", "whatsapp-saas")
    assert str(exc.value).startswith(f"{bad}: line 8: success 'perhaps' is neither true nor")
    assert (Run.objects.count(), Event.objects.count()) == before


@pytest.fixture
def token(demo):
    return token_create(demo, name="ci", scopes=["runs:write", "readiness:read"])[1]


@pytest.mark.parametrize(
    ("path", "fmt", "tool"),
    [
        (XML, "auto", "jmeter"),
        (JTL, "jmeter-csv", "jmeter"),
        (FIXTURES / "locust" / "gbk_run_stats.csv", "auto", "locust"),
    ],
    ids=["xml-auto", "jtl-forced", "gbk-stats"],
)
def test_an_upload_is_parsed_like_the_file(
    demo, token, client, django_capture_on_commit_callbacks, settings, tmp_path, path, fmt, tool
):
    settings.UPLOAD_DIR = tmp_path
    with django_capture_on_commit_callbacks(execute=True), open(path, "rb") as f:
        response = client.post(
            "/api/launches/whatsapp-saas/runs/",
            {"file": f, "format": fmt, "test": "peak"},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert response.status_code == 202, response.content
    run = client.get(response.json()["url"], headers={"Authorization": f"Bearer {token}"}).json()
    parsed = parse_file(path)
    assert (run["status"], run["tool"]) == ("done", tool)
    assert run["overall"]["requests"] == parsed.overall.requests
    assert run["encoding"] == parsed.encoding


def test_an_unknown_format_name_lists_the_new_ones(demo, token, client, settings, tmp_path):
    settings.UPLOAD_DIR = tmp_path
    with open(JTL, "rb") as f:
        response = client.post(
            "/api/launches/whatsapp-saas/runs/",
            {"file": f, "format": "jmeter"},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert response.status_code == 400
    assert "jmeter-csv, jmeter-xml" in response.json()["error"]
