"""Telling result formats apart by content (never by file name).

gzip is recognised by its magic bytes (1f 8b) and looked through. Then:
  k6-json     first non-empty line is a JSON object with "type": "Metric"/"Point" (or starts
              like one: `{"metric":` / `{"type":`)
  k6-summary  a JSON document with a "metrics" object (`--summary-export`, or a handleSummary
              `JSON.stringify(data)` dump, one line or pretty-printed)
  locust-csv  a CSV whose header has Type/Method, Name and Request Count (or Locust <= 0.14's
              "# requests"); Locust <= 0.13.2's _distribution.csv (Name, # requests, NN%);
              also a `--csv` prefix whose PREFIX_stats.csv or PREFIX_requests.csv exists
  locust-json a JSON array (Locust 2.x `--json` / `--json-file`; its parser checks the entries)
  jmeter-csv  a CSV whose header names elapsed and label, or whose first line starts like a
              JTL row (a timestamp, then a whole number of ms) - JMeter's headerless default
  jmeter-xml  XML (a JTL saved with jmeter.save.saveservice.output_format=xml)
"""

from __future__ import annotations

import csv
import os
import re
from pathlib import Path

import orjson

from .errors import ParseError
from .jmeter import is_headerless_jtl, is_jtl_header_line
from .reader import read_head

HEAD_BYTES = 1 << 16
_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
BOM = b"\xef\xbb\xbf"
LOCUST_REQUIRED = ("Type", "Name", "Request Count", "Failure Count")
LOCUST_ALIASES = {
    "Type": ("Type", "Method"),
    "Request Count": ("Request Count", "# requests"),
    "Failure Count": ("Failure Count", "# failures"),
    "Name": ("Name",),
}


def locust_stats_path(path: str | os.PathLike) -> Path | None:
    """PREFIX_stats.csv (or Locust <= 0.13.2's PREFIX_requests.csv) when `path` is a Locust
    --csv prefix that has one, else None."""
    p = Path(path)
    if p.is_file():
        return None
    for suffix in ("_stats.csv", "_requests.csv"):
        candidate = p.with_name(p.name + suffix)
        if candidate.is_file():
            return candidate
    return None


def detect_format(path: str | os.PathLike) -> str:
    """One of parsers.FORMATS for the file (or Locust prefix) at `path`."""
    if locust_stats_path(path) is not None:
        return "locust-csv"
    if not Path(path).is_file():
        raise ParseError(f"no such file: {Path(path).name}")
    return sniff(read_head(path, HEAD_BYTES))


def sniff(head: bytes) -> str:
    """Format name for the first (decompressed) bytes of a file; ParseError when unknown."""
    if head.startswith(BOM):
        head = head[len(BOM) :]
    if not head.strip():
        raise ParseError("file is empty")
    first = next(line.strip() for line in head.splitlines() if line.strip())
    _require_text(first, head)
    if first.startswith(b"{"):
        return _sniff_json(first)
    if first.startswith(b"["):
        return "locust-json"  # Locust's --json stats; its parser says when an array is not
    if first.startswith(b"<"):
        if b"<testResults" in head:
            return "jmeter-xml"
        raise ParseError("XML that is not a JMeter result (no <testResults> element)")
    if is_headerless_jtl(first) or is_jtl_header_line(first):
        return "jmeter-csv"
    return _sniff_csv(first)


def _require_text(first: bytes, head: bytes) -> None:
    """The first line decides the format, so it must be text (later lines are the parser's,
    which read non-UTF-8 names too: a header line is ASCII in every format read here)."""
    if b"\x00" in first:
        raise ParseError("not a text file (binary data)")
    try:
        first.decode("utf-8")
    except UnicodeDecodeError as exc:
        # a character cut by HEAD_BYTES is fine; so is a legacy code page, but not control bytes
        if exc.reason != "unexpected end of data" and _CONTROL.search(head):
            raise ParseError("not a text file (invalid UTF-8 / binary data)") from None


def _sniff_json(first: bytes) -> str:
    if first.startswith((b'{"metric":', b'{"type":')):
        return "k6-json"
    try:
        obj = orjson.loads(first)
    except orjson.JSONDecodeError:
        return "k6-summary"  # a pretty-printed document; the summary parser validates it
    if isinstance(obj, dict) and obj.get("type") in ("Metric", "Point"):
        return "k6-json"
    if isinstance(obj, dict) and isinstance(obj.get("metrics"), dict):
        return "k6-summary"
    raise ParseError(
        'JSON that is not a k6 result (no "type": "Metric"/"Point" lines and no "metrics" object)'
    )


def _sniff_csv(first: bytes) -> str:
    try:
        header = next(csv.reader([first.decode("utf-8", "replace")]))
    except (csv.Error, StopIteration):
        header = []
    names = {h.strip() for h in header}
    if {"Name", "# requests"} <= names and not names & {"Type", "Method"}:
        return "locust-csv"  # Locust <= 0.13.2's PREFIX_distribution.csv; it needs its sibling
    if {"Timestamp", "User Count"} <= names or {"Timestamp", "# requests"} <= names:
        raise ParseError(
            "this is a Locust _stats_history.csv: give the _stats.csv file or the --csv prefix"
        )
    if {"Error", "Occurrences"} <= names or {"Traceback", "Count"} <= names:
        raise ParseError(
            "this is a Locust _failures.csv/_exceptions.csv: give the _stats.csv "
            "file or the --csv prefix"
        )
    missing = [c for c in LOCUST_REQUIRED if not names & set(LOCUST_ALIASES[c])]
    if not missing:
        return "locust-csv"
    if len(header) > 1:
        raise ParseError(f"not a Locust stats CSV: missing columns {', '.join(missing)}")
    raise ParseError(
        "unknown format: not k6 JSON output, a k6 summary, a Locust stats CSV or a JMeter JTL"
    )
