"""Locust `--csv PREFIX` output: PREFIX_stats.csv (+ _stats_history.csv, _failures.csv,
_exceptions.csv when present). Locust 1.x/2.x headers, and 0.13.3-0.14 ("# requests",
"Requests Failed/s", quoted) through column aliases. Locust <= 0.13.2 wrote two files instead,
PREFIX_requests.csv (counts and times, a "None","Total" or "None","Aggregated" row) and
PREFIX_distribution.csv (the percentiles, "GET /name" in one column, a "Total" row): given the
prefix or either file, the two are merged; a percentile neither holds stays None.
A file not in UTF-8 (a Windows locale's code page) is decoded with the encoding guessed
(texts.py), said on the run.

overall = the Aggregated row; endpoints = the other rows keyed "TYPE Name"; one scenario
"default"; series = the Aggregated rows of the history (requests/failures per row are the
differences of the cumulative totals); timeouts from _failures.csv messages. Locust percentile
columns are its own bucketed values (2 significant digits) and are passed through as they are.
"""

from __future__ import annotations

import csv
import io
import math
import os
import re
from datetime import UTC, datetime
from pathlib import Path

from .detect import LOCUST_ALIASES, LOCUST_REQUIRED, locust_stats_path
from .errors import ParseError
from .model import RunResult, SeriesPoint, Stats, overall_metrics
from .reader import Progress, read_all, report
from .texts import decode_text
from .timeouts import locust_timeout_label

MAX_CSV = 64 << 20
ALIASES = {
    **LOCUST_ALIASES,
    "Median": ("Median Response Time", "Median response time"),
    "Average": ("Average Response Time", "Average response time"),
    "Min": ("Min Response Time", "Min response time"),
    "Max": ("Max Response Time", "Max response time"),
    "Requests/s": ("Requests/s",),
    "Total Request Count": ("Total Request Count", "# requests"),
    "Total Failure Count": ("Total Failure Count", "# failures"),
    "User Count": ("User Count",),
    "Timestamp": ("Timestamp",),
}
_PCT = re.compile(r"^(\d+(?:\.\d+)?)%?$")


class Table:
    """A parsed CSV: header names, rows as dicts, and each row's line number."""

    def __init__(
        self, name: str, header: list[str], rows: list[tuple[int, dict]], encoding: str = "utf-8"
    ):
        self.name, self.header, self.rows = name, header, rows
        self.encoding = encoding

    def col(self, logical: str) -> str | None:
        """The actual header for a logical column name (first alias present)."""
        return next((h for h in ALIASES.get(logical, (logical,)) if h in self.header), None)


def read_table(path: Path) -> Table:
    """Read a CSV file (plain or gzip; UTF-8 or the code page guessed) strictly: every row as
    wide as the header."""
    raw = read_all(path, MAX_CSV)
    if b"\x00" in raw:
        raise ParseError(f"{path.name} is not a text file (binary data)")
    text, encoding = decode_text(raw, path.name)
    if "\x00" in text:
        raise ParseError(f"{path.name} is not a text file (binary data)")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip() for h in next(reader, [])]
        rows = []
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                raise ParseError(
                    f"{path.name}: {len(row)} fields but the header has "
                    f"{len(header)} (file cut mid-row?)",
                    reader.line_num,
                )
            rows.append((reader.line_num, dict(zip(header, row, strict=True))))
    except csv.Error as exc:
        raise ParseError(f"{path.name}: not a readable CSV ({exc})", reader.line_num) from None
    return Table(path.name, header, rows, encoding)


def number(table: Table, line: int, row: dict, logical: str, *, integer=False):
    """The float (or int) in a column; None for a missing column, "" or "N/A"."""
    col = table.col(logical)
    if col is None:
        return None
    text = row[col].strip()
    if text in ("", "N/A"):
        return None
    try:
        value = float(text)
    except ValueError:
        raise ParseError(
            f"{table.name}: column {col}: {text[:40]!r} is not a number", line
        ) from None
    if not math.isfinite(value):
        raise ParseError(f"{table.name}: column {col}: value {text} is not a number", line)
    if value < 0:
        raise ParseError(f"{table.name}: column {col}: negative value {text}", line)
    return int(value) if integer else value


def percentile_columns(table: Table) -> dict[float, str]:
    """{95.0: "95%", ...} for every percentile column in the header."""
    out = {}
    for h in table.header:
        m = _PCT.match(h)
        if m and h not in ("100",):
            out[float(m.group(1))] = h
    return out


def row_stats(table: Table, line: int, row: dict, pcts: dict[float, str]) -> Stats:
    """Stats of one _stats.csv row."""
    n = number(table, line, row, "Request Count", integer=True) or 0
    failed = number(table, line, row, "Failure Count", integer=True) or 0

    def pct(p):
        col = pcts.get(p)
        return number(table, line, {col: row[col]}, col) if col else None

    return Stats(
        requests=n,
        failed=failed,
        error_rate=failed / n if n else 0.0,
        rps=number(table, line, row, "Requests/s") or 0.0,
        p50_ms=pct(50.0) if 50.0 in pcts else number(table, line, row, "Median"),
        p90_ms=pct(90.0),
        p95_ms=pct(95.0),
        p99_ms=pct(99.0),
        max_ms=number(table, line, row, "Max"),
        avg_ms=number(table, line, row, "Average"),
        min_ms=number(table, line, row, "Min"),
    )


OLD_REQUESTS, OLD_DISTRIBUTION = "_requests.csv", "_distribution.csv"
TOTAL_NAMES = ("Aggregated", "Total", "None Aggregated", "None Total")


def _files(path: str | os.PathLike) -> tuple[Path, str | None, Path | None]:
    """(the counts file, the --csv prefix when the name has one, Locust <= 0.13.2's
    _distribution.csv when the counts are its _requests.csv)."""
    if hasattr(path, "readinto"):  # an upload still arriving: one file, no siblings
        return path, None, None
    stats = locust_stats_path(path) or Path(path)
    name = stats.name
    if name.endswith(OLD_DISTRIBUTION):
        requests = stats.with_name(name[: -len(OLD_DISTRIBUTION)] + OLD_REQUESTS)
        if not requests.is_file():
            raise ParseError(
                f"{name} is Locust's percentile file; its counts are in {requests.name}, "
                "which is not beside it: give both (or their --csv prefix)"
            )
        return requests, None, stats
    if name.endswith(OLD_REQUESTS):
        return stats, None, stats.with_name(name[: -len(OLD_REQUESTS)] + OLD_DISTRIBUTION)
    prefix = name[: -len("_stats.csv")] if name.endswith("_stats.csv") else None
    return stats, prefix, None


def parse_locust(path: str | os.PathLike, progress: Progress | None = None) -> RunResult:
    """Parse a Locust _stats.csv (or --csv prefix) and its sibling files into a RunResult;
    Locust <= 0.13.2's _requests.csv with its _distribution.csv."""
    stats_path, prefix, distribution = _files(path)
    table = read_table(stats_path)
    if _is_distribution(table):
        raise ParseError(
            f"{table.name} is Locust's percentile file (_distribution.csv); its counts are in "
            "the _requests.csv written beside it: give that file or the --csv prefix"
        )
    missing = [c for c in LOCUST_REQUIRED if table.col(c) is None]
    if missing:
        raise ParseError(f"not a Locust stats CSV: missing columns {', '.join(missing)}")
    res = RunResult(tool="locust", format="locust-csv", lines=len(table.rows) + 1)
    _encoding(table, res)
    _entries(table, res)
    old = _is_old_requests(table)
    if old:
        _successes_only(table, res)
    if prefix is not None:
        _siblings(stats_path.with_name(prefix), res)
    if distribution is not None:
        _distribution(distribution, res)
    elif old and not percentile_columns(table):
        res.warnings.append(
            "Locust <= 0.13.2 wrote its percentiles to PREFIX_distribution.csv beside this "
            "file: none are known here (ingest the --csv prefix, or both files, from a terminal)"
        )
    if res.duration_s is None and res.overall.rps:
        res.duration_s = res.overall.requests / res.overall.rps
    overall_metrics(res)
    if progress is not None:
        size = getattr(stats_path, "total", 0) or Path(stats_path).stat().st_size
        report(progress, size, size, res.lines)
    return res


def _is_old_requests(table: Table) -> bool:
    """Locust <= 0.13.2's _requests.csv: "Method" and "# requests" (0.13.3 renamed Method
    to Type)."""
    return "Method" in table.header and "# requests" in table.header


def _successes_only(table: Table, res: RunResult) -> None:
    """Before Locust 0.10 (PR #939, January 2019) "# requests" counted successes only. A row
    with more failures than requests can only be such a file: then the failures are added.
    Otherwise the version cannot be told from the file, and the warning says what it means."""
    rows = [res.overall, *res.endpoints.values()]
    failed = res.overall.failed
    if any(st.failed > st.requests for st in rows):
        for st in rows:
            st.requests += st.failed
            st.error_rate = st.failed / st.requests if st.requests else 0.0
        res.warnings.append(
            f"{table.name}: a row has more failures than requests, so Locust < 0.10 wrote it, "
            "whose '# requests' counted successes only: the failures are added to the requests"
        )
    elif failed:
        res.warnings.append(
            f"{table.name} was written by Locust <= 0.13.2; if by a version before 0.10 "
            f"(before January 2019), '# requests' counted successes only and the run had "
            f"{res.overall.requests + failed} requests, not {res.overall.requests}"
        )


def _encoding(table: Table, res: RunResult) -> None:
    if table.encoding != "utf-8" and res.encoding is None:
        res.encoding = table.encoding
        res.warnings.append(
            f"{table.name} is not UTF-8: read as {table.encoding} (guessed from its bytes; "
            "names only, the figures do not depend on it)"
        )


def _is_distribution(table: Table) -> bool:
    names = set(table.header)
    return {"Name", "# requests"} <= names and not names & {"Type", "Method"}


def _distribution(path: Path, res: RunResult) -> None:
    """Locust <= 0.13.2's percentiles, joined to the counts by "METHOD name" (its Name)."""
    if not path.is_file():
        res.warnings.append(
            f"no {path.name} beside the counts: Locust <= 0.13.2 wrote the percentiles there, "
            "so none are known (give the --csv prefix with both files)"
        )
        return
    table = read_table(path)
    if not _is_distribution(table) or table.col("Request Count") is None:
        raise ParseError(f"{table.name}: expected Locust's Name, # requests, NN% columns")
    _encoding(table, res)
    res.lines += len(table.rows) + 1
    pcts = percentile_columns(table)
    by_key = {**res.endpoints, **dict.fromkeys(TOTAL_NAMES, res.overall)}
    for line, row in table.rows:
        name = row["Name"].strip()
        st = by_key.get(name)
        if st is None:
            res.warnings.append(f"{table.name} line {line}: {name!r} has no counts row; left out")
            continue
        n = number(table, line, row, "Request Count", integer=True)
        if n != st.requests:
            res.warnings.append(
                f"{table.name} line {line}: {name} has {n} requests there, {st.requests} in "
                "the counts (files of different runs?)"
            )
        for p, field in ((50.0, "p50_ms"), (90.0, "p90_ms"), (95.0, "p95_ms"), (99.0, "p99_ms")):
            if p in pcts:
                setattr(st, field, number(table, line, {pcts[p]: row[pcts[p]]}, pcts[p]))


def _entries(table: Table, res: RunResult) -> None:
    pcts = percentile_columns(table)
    type_col, name_col = table.col("Type"), table.col("Name")
    overall = None
    for line, row in table.rows:
        st = row_stats(table, line, row, pcts)
        if row[name_col].strip() in ("Aggregated", "Total"):
            overall = st
        else:
            res.endpoints[f"{row[type_col].strip()} {row[name_col].strip()}"] = st
    if overall is None:
        raise ParseError(f"{table.name} has no Aggregated row (file cut short?)")
    if not overall.requests and not (_is_old_requests(table) and overall.failed):
        raise ParseError("no HTTP requests in this run")  # (Locust < 0.10: all failed)
    res.overall = overall
    res.scenarios = {"default": overall}


def _siblings(prefix: Path, res: RunResult) -> None:
    for suffix, handler in (
        ("_stats_history.csv", _history),
        ("_failures.csv", _failures),
        ("_exceptions.csv", _exceptions),
    ):
        path = prefix.with_name(prefix.name + suffix)
        if path.is_file():
            table = read_table(path)
            _encoding(table, res)
            res.lines += len(table.rows) + 1
            handler(table, res)


def _history(table: Table, res: RunResult) -> None:
    name_col, ts_col = table.col("Name"), table.col("Timestamp")
    if name_col is None or ts_col is None:
        raise ParseError(f"{table.name}: missing columns Name/Timestamp")
    pcts = percentile_columns(table)
    prev_req = prev_fail = 0
    points: dict[int, SeriesPoint] = {}
    for line, row in table.rows:
        if row[name_col].strip() != "Aggregated":
            continue
        t = number(table, line, row, "Timestamp", integer=True)
        total = number(table, line, row, "Total Request Count", integer=True) or 0
        fails = number(table, line, row, "Total Failure Count", integer=True) or 0
        p = points.setdefault(t, SeriesPoint(t=t))
        p.requests += max(total - prev_req, 0)
        p.failures += max(fails - prev_fail, 0)
        prev_req, prev_fail = total, fails
        if 95.0 in pcts:
            p.p95_ms = number(table, line, {pcts[95.0]: row[pcts[95.0]]}, pcts[95.0])
        users = number(table, line, row, "User Count", integer=True)
        p.vus = users if users is not None else p.vus
    res.series = [points[t] for t in sorted(points)]
    if res.series:
        res.started_at = datetime.fromtimestamp(res.series[0].t, UTC)
        res.ended_at = datetime.fromtimestamp(res.series[-1].t, UTC)
        res.duration_s = float(res.series[-1].t - res.series[0].t) or None


def _failures(table: Table, res: RunResult) -> None:
    cols = {
        c: next((h for h in (c,) if h in table.header), None)
        for c in ("Method", "Name", "Error", "Occurrences")
    }
    if None in cols.values():
        raise ParseError(f"{table.name}: expected columns Method, Name, Error, Occurrences")
    for line, row in table.rows:
        label = locust_timeout_label(row["Error"])
        if label is None:
            continue
        occ = number(table, line, row, "Occurrences", integer=True) or 0
        res.timeout_breakdown[label] = res.timeout_breakdown.get(label, 0) + occ
        res.overall.timeouts += occ
        ep = res.endpoints.get(f"{row['Method'].strip()} {row['Name'].strip()}")
        if ep is not None:
            ep.timeouts += occ


def _exceptions(table: Table, res: RunResult) -> None:
    count_col, msg_col = table.col("Count"), table.col("Message")
    if count_col is None or msg_col is None:
        return
    for line, row in table.rows[:5]:
        count = number(table, line, row, "Count", integer=True)
        res.warnings.append(
            f"{count} user-code exception(s), not requests: {row[msg_col].strip()[:200]}"
        )
