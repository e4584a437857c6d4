"""`--format auto` tells every format read here apart, by content, on files the tools wrote."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from metrics.parsers import FORMATS, detect_format

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
EXPECTED = {
    "k6/peak_pass.ndjson": "k6-json",
    "k6/spike.ndjson.gz": "k6-json",
    "k6/peak_pass.summary-export.json": "k6-summary",
    "k6/peak_pass.handle-summary.json": "k6-summary",
    "locust/run": "locust-csv",
    "locust/run_stats.csv": "locust-csv",
    "locust/gbk_run_stats.csv": "locust-csv",
    "locust/old_run": "locust-csv",
    "locust/old_run_requests.csv": "locust-csv",
    "locust/old_run_distribution.csv": "locust-csv",
    "locust/old/locust_stats_gbk.csv": "locust-csv",
    "locust/json_run.json": "locust-json",
    **{
        f"jmeter/{p.name}": "jmeter-xml"
        if p.read_bytes().lstrip().startswith(b"<")
        else "jmeter-csv"
        for p in sorted((FIXTURES / "jmeter").iterdir())
        if p.suffix in (".jtl", ".xml", ".csv")
    },
}


@pytest.mark.parametrize(("name", "fmt"), sorted(EXPECTED.items()))
def test_auto_detection(name, fmt):
    assert detect_format(FIXTURES / name) == fmt


def test_every_format_has_a_real_file():
    assert set(EXPECTED.values()) == set(FORMATS)


@pytest.mark.parametrize("name", ["jmeter/xml_simple_sample_variables.jtl", "locust/json_run.json"])
def test_through_gzip_too(tmp_path, name):
    path = tmp_path / "x.gz"
    path.write_bytes(gzip.compress((FIXTURES / name).read_bytes()))
    assert detect_format(path) == EXPECTED[name]
