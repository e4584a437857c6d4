"""JMeter JTL results: CSV (with or without its header line, any `jmeter.save.saveservice.*`
column set, any one-character delimiter) and XML (`<testResults>`), streamed.

What JMeter's Aggregate Report shows is what comes out: per label and for all samples (its
TOTAL row), the sample count, the errors (`success` false, or the ErrorCount column when saved),
min / mean / max of `elapsed`, and the median, 90 %, 95 % and 99 % lines computed the way its
`StatCalculator.getPercentPoint` does - nearest rank over the exact elapsed values: the
smallest value whose cumulative count reaches round(n x p), p being the Float 0.9f / 0.95f /
0.99f the report passes (0.5 for the median). The run's span is first start to last end,
`timeStamp` being the sample's start (`sampleresult.timestamp.start=true`, JMeter's default).
Only top-level samples count: an XML sample's nested sub-results (embedded resources, a
Transaction Controller's children) are part of their parent, as in the report.

Elapsed times are whole milliseconds, so a Counter of (label, elapsed) -> samples holds the
exact distributions in memory bounded by the distinct values, not by the file's length. A CSV
is read in 32 KiB blocks: each block is split at once (its newlines made delimiters, one
`bytes.split`), its columns taken as list slices, its numbers parsed by orjson as one JSON
array, and counted by `Counter.update` over `zip` - all in C, no Python code per row. Quoted
fields (a Transaction Controller's message, an assertion's failure text) first lose their text
between the quotes (the block split on '"', every other part dropped); a block holding a row
that does not fit is read again row by row with `csv`, which also names the bad line.
"""

from __future__ import annotations

import csv
import math
import os
import re
import struct
from collections import Counter
from datetime import UTC, datetime
from itertools import compress, pairwise, repeat
from operator import add, eq, floordiv
from pyexpat import ExpatError, ParserCreate

import orjson

from .errors import ParseError
from .model import RunResult, SeriesPoint, Stats, overall_metrics
from .reader import CHUNK, MAX_LINE, Progress, Source, Ticker
from .texts import decode_names

# The columns JMeter writes first whatever its version or settings (CSVSaveService's order):
# a file without a header line is read with these.
DEFAULT_LEAD = (
    "timeStamp",
    "elapsed",
    "label",
    "responseCode",
    "responseMessage",
    "threadName",
    "dataType",
    "success",
)
REQUIRED = ("elapsed", "label", "success")
DELIMITERS = ",;\t|"
# The Aggregate Report's percentiles: Float.parseFloat("90") / 100 ..., widened to double.
PERCENTS = {
    50: 0.5,
    90: struct.unpack("f", struct.pack("f", 0.9))[0],
    95: struct.unpack("f", struct.pack("f", 0.95))[0],
    99: struct.unpack("f", struct.pack("f", 0.99))[0],
}
SERIES_LAG_S = 5  # a second's p95 is settled once samples ending 5 s later have been read
# Blocks small enough to stay in the CPU cache while a dozen passes go over their fields
# (bench/jtl_bench.py: 32 KiB parses 1.4x faster than 256 KiB).
BLOCK = 1 << 15
MAX_LABELS = 1000  # as k6's endpoints: beyond, labels are pooled
OTHER_LABELS = b"(other labels)"
RUN_GAP_S = 60  # no sample ended for longer than this, none running: another run follows
_DATE = rb"\d{4}[-/]\d\d[-/]\d\d[ T]\d\d:\d\d:\d\d"
_ZONE = re.compile(rb"(?:Z|[+-]\d\d:?\d\d)\s*$")
_DATE_RE = re.compile(b"(" + _DATE + rb")(?:[.,](\d+))?\s*(Z|[+-]\d\d:?\d\d)?")
_HEADERLESS = re.compile(rb"(?:\d{9,16}|" + _DATE + rb"[^,;\t|]*)([,;\t|])\d+\1")
_TIMEOUT = re.compile(r"Timeout|timed out", re.I)
PERCENTILE_NOTE = (
    "percentiles as JMeter's Aggregate Report computes them (nearest rank over the exact "
    "elapsed milliseconds), not k6's interpolation"
)


def jmeter_percentile(times: Counter, n: int, percent: float):
    """StatCalculator.getPercentPoint: walk the values up, subtracting each one's count from
    round(n x percent) (Java's Math.round: half up) until nothing is left."""
    if n <= 0 or not times:
        return None
    if percent >= 1.0:
        return max(times)
    target = math.floor(n * percent + 0.5)
    for value in sorted(times):
        target -= times[value]
        if target <= 0:
            return value
    return 0  # only with inconsistent counts; JMeter returns ZERO too


def is_jtl_header(fields: list[str]) -> bool:
    """Whether a CSV header line is JMeter's (it names elapsed and label)."""
    return {"elapsed", "label"} <= {f.strip() for f in fields}


def is_jtl_header_line(first: bytes) -> bool:
    """Whether a first line is a JTL header with any delimiter JMeter may be set to use."""
    text = first.decode("latin-1")
    return any(is_jtl_header(text.split(d)) for d in DELIMITERS)


def is_headerless_jtl(first: bytes) -> bool:
    """Whether a first line looks like a JTL row: a timestamp, a delimiter, an elapsed time."""
    return _HEADERLESS.match(first) is not None


# -- what the rows add up to -----------------------------------------------------------------


class Totals:
    """Counts keyed by a few fields of each sample, never the samples themselves.

    Readers hand `add` one block's columns (lists of equal length: elapsed as ints, the rest
    bytes as in the file) and `secs`, the second each sample ended in (one int when all
    ended in the same second), or None when they have no start time."""

    def __init__(self):
        self.hist: Counter = Counter()  # (label, elapsed) -> samples
        self.failed: Counter = Counter()  # label -> failed samples
        # with SampleCount/ErrorCount saved: (label, success, elapsed, SampleCount, ErrorCount)
        self.weighted: Counter = Counter()
        self.codes: Counter = Counter()  # (label, responseCode) of failed samples
        self.sec_req: Counter = Counter()  # second -> samples that ended in it
        self.sec_fail: Counter = Counter()  # second -> failed samples that ended in it
        self.sec_threads: dict[int, int] = {}  # second -> active threads last seen in it
        self.open: dict[int, list] = {}  # second -> its elapsed values, until settled
        self.p95: dict[int, int] = {}
        self.longest: dict[int, int] = {}  # second -> the longest sample that ended in it
        self.late = 0
        self.max_sec = -1
        self.first_ms: int | None = None
        self.last_end_ms: int | None = None
        self.rows = 0
        self.sub_results = 0
        self.untimed = 0  # samples without a start time (timeStamp 0)
        self.dated = False
        self.labels: set = {OTHER_LABELS}  # every label counted under its own name
        self.pooled = False

    def add(self, secs, els, labs, oks, rcs=None, threads=None, counts=None):
        """Count one block's samples."""
        if not els:
            return
        self.rows += len(els)
        if not self.labels.issuperset(labs):
            labs = self._capped(labs)
        if counts:
            self.weighted.update(zip(labs, oks, els, *counts, strict=True))
        else:
            self.hist.update(zip(labs, els, strict=True))
        if b"false" in oks:
            # the failed samples (a few per block, usually): found by list.index, counted
            # once by (label, responseCode, second)
            failed = _positions(oks, b"false")
            take = failed.__iter__
            codes = map(rcs.__getitem__, take()) if rcs is not None else repeat(b"")
            if secs is None or isinstance(secs, int):
                seconds = repeat(secs)
            else:
                seconds = map(secs.__getitem__, take())
            keys = zip(map(labs.__getitem__, take()), codes, seconds, strict=False)
            for (label, code, sec), n in Counter(keys).items():
                if not counts:
                    self.failed[label] += n
                if rcs is not None:
                    self.codes[label, code] += n
                if secs is not None:
                    self.sec_fail[sec] += n
        if secs is not None:
            self.timeline(secs, els, None, threads)

    def _capped(self, labs: list) -> list:
        """Labels are endpoints: past MAX_LABELS (an id in a sampler's name makes one per
        request) the rest are pooled, so memory and the run's JSON stay bounded."""
        for label in dict.fromkeys(labs):  # first seen first, whatever the block size
            if label not in self.labels:
                if len(self.labels) > MAX_LABELS:  # (the set holds the pool too)
                    self.pooled = True
                    break
                self.labels.add(label)
        if not self.pooled:
            return labs
        known = self.labels
        return [label if label in known else OTHER_LABELS for label in labs]

    def timeline(self, secs, values, fails=None, threads=None) -> None:
        """The per-second series of samples that have a start time, by the second each one
        ended in: JMeter writes a sample when it ends, so the seconds come nearly in order
        (by start time a 15 s timeout would reach its second 15 s late), and JMeter's own
        over-time graphs key samples by their end too."""
        if fails is not None:
            self.sec_fail.update(compress(secs, fails))
        if threads is not None:  # the active threads last written in each second
            if isinstance(secs, int):
                last = {secs: threads[-1]}
            else:
                last = dict(zip(secs, threads, strict=True))
            for sec, active in last.items():
                if active.isdigit():
                    self.sec_threads[sec] = int(active)
        self._series(secs, values)

    def add_rows(self, rows: list[tuple], has_rc: bool, has_threads: bool, weighted: bool):
        """Count rows of (start ms, elapsed, label, success, responseCode, allThreads, counts)
        made one by one; a start of None has no time (timeStamp 0)."""
        if not rows:
            return
        starts, els, labs, oks, rcs, threads, counts = zip(*rows, strict=True)
        els = list(map(int, els))
        self.add(
            None,
            els,
            list(labs),
            list(oks),
            list(rcs) if has_rc else None,
            None,
            tuple(map(list, zip(*counts, strict=True))) if weighted else None,
        )
        timed = [i for i, start in enumerate(starts) if start is not None]
        if len(timed) < len(rows):
            self.untimed += len(rows) - len(timed)
            if not timed:
                return
            starts, els, oks, threads = (
                [column[i] for i in timed] for column in (starts, els, oks, threads)
            )
        ends = list(map(add, starts, els))
        self.span(min(starts), max(ends))
        fails = list(map(eq, oks, repeat(b"false"))) if b"false" in oks else None
        secs = [end // 1000 for end in ends]  # the series is by end time
        self.timeline(secs, list(els), fails, list(threads) if has_threads else None)

    def _series(self, secs, values) -> None:
        """Each second's elapsed values, gathered in C: one compress per second the block
        touches (a block spans a few seconds at most rates). `secs` is one int when every
        sample of the block ended in the same second."""
        opened, settled, requests = self.open, self.p95, self.sec_req
        distinct = {secs} if isinstance(secs, int) else set(secs)
        for sec in distinct:
            part = values if len(distinct) == 1 else list(compress(values, map(sec.__eq__, secs)))
            requests[sec] += len(part)
            gathered = opened.get(sec)
            if gathered is None:
                if sec in settled:  # settled already: counted, but not in that second's p95
                    self.late += len(part)
                    continue
                gathered = opened[sec] = []
            gathered.extend(part)
        self.max_sec = max(self.max_sec, *distinct)

    def span(self, first_ms: int, last_end_ms: int) -> None:
        if self.first_ms is None or first_ms < self.first_ms:
            self.first_ms = first_ms
        if self.last_end_ms is None or last_end_ms > self.last_end_ms:
            self.last_end_ms = last_end_ms

    def settle(self, final: bool) -> None:
        """The p95 of every second old enough that no more samples will reach it (called
        between blocks: within one, rows come in any order)."""
        for sec in [s for s in self.open if final or s <= self.max_sec - SERIES_LAG_S]:
            values = sorted(self.open.pop(sec))
            rank = math.floor(len(values) * PERCENTS[95] + 0.5)  # as jmeter_percentile
            self.p95[sec] = values[max(rank, 1) - 1]
            self.longest[sec] = values[-1]


# -- CSV ----------------------------------------------------------------------------------------


class Layout:
    """Where the fields this reader needs are in one CSV file's rows."""

    def __init__(self, columns: list[str], delimiter: str, has_header: bool):
        self.columns, self.delimiter, self.has_header = columns, delimiter, has_header
        self.sep = delimiter.encode()
        self.index: dict[str, int] = {}
        for i, name in enumerate(columns):
            self.index.setdefault(name, i)
        missing = [c for c in REQUIRED if c not in self.index]
        if missing:
            raise ParseError(
                f"a JMeter CSV without the {', '.join(missing)} column(s): save them "
                "(jmeter.save.saveservice.label / time / success = true)",
                1,
            )
        self.weighted = "SampleCount" in self.index or "ErrorCount" in self.index
        self.dated = False  # a timeStamp written as a date-time was met
        self.last = max(self.index[c] for c in NEEDED if c in self.index)

    def col(self, name: str) -> int | None:
        return self.index.get(name)

    def row(self, fields: list[bytes], line: int) -> tuple:
        """(start ms or None, elapsed, label, success, responseCode, allThreads,
        [SampleCount, ErrorCount]) of one row split by `csv`; ParseError naming the
        first field that is not what JMeter writes."""
        if len(fields) <= self.last:
            raise ParseError(
                f"{len(fields)} fields, but this JTL's {self.columns[self.last]} column is "
                f"field {self.last + 1} (row cut short?)",
                line,
            )

        def get(name, default=b""):
            i = self.index.get(name)
            if i is None:
                return default
            # numbers and booleans may carry stray spaces; a label is kept as JMeter wrote it
            return fields[i] if name in ("label", "responseCode") else fields[i].strip()

        elapsed = get("elapsed")
        if not elapsed.isdigit():
            raise ParseError(f"elapsed {_show(elapsed)} is not a whole number of ms", line)
        success = get("success").lower()
        if success not in BOOLS:
            raise ParseError(f"success {_show(success)} is neither true nor false", line)
        start = None
        if "timeStamp" in self.index:
            ts = get("timeStamp")
            start = _start(ts, line)
            if not ts.isdigit():  # a date-time: read as UTC unless it says its zone
                self.dated = self.dated or not _ZONE.search(ts)
        threads = get("allThreads")
        counts = []
        for name in ("SampleCount", "ErrorCount") if self.weighted else ():
            value = get(name, b"1" if name == "SampleCount" else b"")
            if name == "ErrorCount" and "ErrorCount" not in self.index:
                value = b"0" if success == b"true" else b"1"
            if not value.isdigit():
                raise ParseError(f"{name} {_show(value)} is not a whole number", line)
            counts.append(value)
        if not threads.isdigit():
            threads = b""  # only the series' threads need it: ignored, as on the fast path
        return (start, elapsed, get("label"), success, get("responseCode"), threads, counts)


NEEDED = ("timeStamp", "elapsed", "label", "responseCode", "success", "allThreads")
NEEDED += ("SampleCount", "ErrorCount")
BOOLS = (b"true", b"false")


def _start(ts: bytes, line: int) -> int | None:
    """The start (epoch ms) a timeStamp says: epoch ms, or a date-time in its zone (else
    UTC); None for 0, which JMeter writes for a sample that never started."""
    if ts.isdigit():
        return int(ts) or None
    m = _DATE_RE.match(ts)
    if m is None:
        raise ParseError(f"timeStamp {_show(ts)} is neither epoch ms nor a date-time", line)
    zone = (m.group(3) or b"").decode().replace("Z", "+00:00")
    if len(zone) == 5:  # SimpleDateFormat's Z: +0800
        zone = f"{zone[:3]}:{zone[3:]}"
    try:
        when = datetime.fromisoformat(m.group(1).decode().replace("/", "-") + zone)
    except ValueError:
        raise ParseError(f"timeStamp {_show(ts)} is not a real date-time", line) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)  # the file does not say its zone (said in a warning)
    ms = int((m.group(2) or b"0").ljust(3, b"0")[:3])
    return int(when.timestamp()) * 1000 + ms


def _show(value: bytes) -> str:
    return repr(value[:40].decode("latin-1"))


def csv_layout(first: bytes, line: int = 1) -> Layout:
    """The layout a JTL CSV's first line (number `line`) implies: its header, or JMeter's
    leading columns."""
    text = first.decode("latin-1").rstrip("\r\n")
    for d in DELIMITERS:
        names = [n.strip() for n in next(csv.reader([text], delimiter=d))]
        if is_jtl_header(names):
            return Layout(names, d, True)
    m = _HEADERLESS.match(first)
    if m is None:
        raise ParseError(
            "not a JMeter CSV: no header line and no timestamp in the first field", line
        )
    d = m.group(1).decode()
    fields = next(csv.reader([text], delimiter=d))
    if len(fields) < len(DEFAULT_LEAD) or fields[7].strip().lower() not in ("true", "false"):
        raise ParseError(
            "a JMeter CSV without a header line must start with JMeter's default columns "
            f"({', '.join(DEFAULT_LEAD)}); this one's 8th field is not success (true/false): "
            "save the header (jmeter.save.saveservice.print_field_names=true)",
            line,
        )
    extra = [f"column{i + 1}" for i in range(len(DEFAULT_LEAD), len(fields))]
    return Layout([*DEFAULT_LEAD, *extra], d, False)


class CsvReader:
    """Blocks of whole lines. A block without quotes whose every row has the file's width is
    split at once (newlines made delimiters, one `split`) and its columns taken as slices;
    any other block is read row by row with `csv`, which names a bad line."""

    def __init__(self, src: Source, layout: Layout, progress: Progress | None):
        self.src, self.layout = src, layout
        self.tick = Ticker(progress, src)
        self.totals = Totals()
        self.width = len(layout.columns)
        self.line = 0  # number of the last line consumed
        self.cut: str | None = None

    def run(self, data: bytes) -> None:
        """Read the file on from `data`, its first bytes (already read, the BOM and any blank
        lines before the first row taken off)."""
        if self.layout.has_header:
            while b"\n" not in data and len(data) < MAX_LINE and (more := self.src.read(BLOCK)):
                data += more
            end = data.find(b"\n")
            data = data[end + 1 :] if end >= 0 else b""
            self.line += 1
        pending = b""  # a quoted record still open at the end of a block
        while more := self.src.read(BLOCK):
            data = pending + data + more
            cut = data.rfind(b"\n") + 1
            if cut == 0 and len(data) > MAX_LINE:
                raise ParseError("line longer than 1 MiB (not a JMeter result)", self.line + 1)
            pending = self._block(data[:cut])
            if len(pending) > MAX_LINE:
                raise ParseError(
                    "a quoted field runs on for more than 1 MiB (a quote never closed?)",
                    self.line + 1,
                )
            self.totals.settle(final=False)
            data = data[cut:]
            self.tick(self.line)
        data = pending + data
        cut = data.rfind(b"\n") + 1
        pending = self._block(data[:cut])
        self._tail(pending + data[cut:])
        self.tick(self.line, final=True)

    def _block(self, block: bytes) -> bytes:
        """Count one block of whole lines; returns a quoted record left open at its end."""
        if not block:
            return b""
        lines = rows = block.count(b"\n")
        flat = block
        if b'"' in block:
            # JMeter quotes a field holding the delimiter, a quote or a newline (a Transaction
            # Controller's "Number of samples in transaction : 2, ..." message, an assertion's
            # failure text). Each loses its text between the quotes: the fields this reader
            # needs are never such text, and the rows keep their width (a quoted newline is
            # gone too).
            parts = block.split(b'"')  # outside, inside, outside ... ("" inside: an empty outside)
            if len(parts) % 2 == 0:  # a quote left open: a field runs into the next block
                flat = None
            else:
                flat = b'"'.join(parts[0::2])
                rows = lines - b"".join(parts[1::2]).count(b"\n")
        if flat is not None and self._flat(flat, rows):
            self.line += lines
            return b""
        return self._rows(block.split(b"\n")[:-1], final=False)

    def _flat(self, block: bytes, n: int) -> bool:
        """The fast path; False (having counted nothing) when the block needs `_rows`."""
        sep, width, col = self.layout.sep, self.width, self.layout.col
        if b"\r" in block:
            block = block.replace(b"\r\n", b"\n")
        fields = block.replace(b"\n", sep).split(sep)
        if len(fields) != width * n + 1:
            return False  # a row of another width, a blank line, a delimiter inside a field
        fields.pop()
        els = fields[col("elapsed") :: width]
        oks = fields[col("success") :: width]
        labs = fields[col("label") :: width]
        rcs = fields[col("responseCode") :: width] if col("responseCode") is not None else None
        if not (b"".join(els).isdigit() and set(oks) <= BOOLS_SET):
            return False
        if b'"' in b"".join(labs) or (rcs is not None and b'"' in b"".join(rcs)):
            return False  # a label with a comma or a quote: `csv` reads those rows
        try:
            values = _ints(els)  # also refuses an empty one
        except orjson.JSONDecodeError:
            return False
        counts = None
        if self.layout.weighted:
            counts = []
            for name in ("SampleCount", "ErrorCount"):
                if col(name) is not None:
                    column = fields[col(name) :: width]
                    if not (all(column) and b"".join(column).isdigit()):
                        return False
                elif name == "SampleCount":
                    column = [b"1"] * n
                else:
                    column = [b"0" if ok == b"true" else b"1" for ok in oks]
                counts.append(column)
        secs = threads = None
        if col("timeStamp") is not None:
            ts = fields[col("timeStamp") :: width]
            if not b"".join(ts).isdigit():
                return False  # date-times
            try:
                starts = _ints(ts)
            except orjson.JSONDecodeError:
                return False  # an empty one, or leading zeros
            if min(starts) < 1000:
                return False  # 0: a sample that never started
            ends = list(map(add, starts, values))  # the series is by end time
            last = max(ends)
            secs = last // 1000
            if min(ends) // 1000 != secs:  # the block spans seconds: each row's own
                secs = list(map(floordiv, ends, repeat(1000)))
            self.totals.span(min(starts), last)
            if col("allThreads") is not None:
                threads = fields[col("allThreads") :: width]
        self.totals.add(secs, values, labs, oks, rcs, threads, counts)
        return True

    def _rows(self, lines: list[bytes], final: bool) -> bytes:
        rows = []
        i = 0
        while i < len(lines):
            start, first = self.line + 1, i
            quotes = lines[i].count(b'"')
            i += 1
            while quotes % 2 and i < len(lines):  # a quoted field spans lines
                quotes += lines[i].count(b'"')
                i += 1
            record = b"\n".join(lines[first:i])
            if quotes % 2 and not final:
                self._add(rows)
                return record + b"\n"  # finish it with the next block
            self.line = start + record.count(b"\n")
            if record.strip():
                rows.append(self._record(record, start))
        self._add(rows)
        return b""

    def _record(self, record: bytes, line: int) -> tuple:
        """One row read by `csv` (latin-1 both ways keeps every byte as it was)."""
        text = record.decode("latin-1").rstrip("\r")
        try:
            fields = next(csv.reader([text], delimiter=self.layout.delimiter, strict=True))
        except csv.Error as exc:
            raise ParseError(f"not a readable CSV row ({exc})", line) from None
        return self.layout.row([f.encode("latin-1") for f in fields], line)

    def _add(self, rows: list[tuple]) -> None:
        layout = self.layout
        self.totals.add_rows(
            rows,
            layout.col("responseCode") is not None,
            layout.col("allThreads") is not None,
            layout.weighted,
        )
        self.totals.dated = self.totals.dated or layout.dated

    def _tail(self, tail: bytes) -> None:
        """The bytes after the last newline: a last row JMeter finished, or one it was writing
        when it stopped - short, or inside a quote - then left out, and the run said to be
        incomplete. A full row with a bad value is an error like any other."""
        if not tail.strip():
            return
        line = self.line + 1
        fields = next(csv.reader([tail.decode("latin-1")], delimiter=self.layout.delimiter))
        if tail.count(b'"') % 2 or len(fields) < self.width:
            self.cut = (
                f"the last line ({line}) is cut off (JMeter stopped mid-write?); "
                "figures use the lines before it"
            )
            return
        self._rows([tail], final=True)


BOOLS_SET = frozenset(BOOLS)


def _positions(values: list, wanted) -> list[int]:
    """The indexes of `wanted` in `values`, each found by list.index (a C scan)."""
    out, i, index = [], -1, values.index
    try:
        while True:
            i = index(wanted, i + 1)
            out.append(i)
    except ValueError:
        return out


def _ints(digits: list[bytes]) -> list[int]:
    """Whole numbers written in digits, parsed in one call (orjson reads a JSON array of
    integers several times faster than int() one by one)."""
    return orjson.loads(b"[" + b",".join(digits) + b"]")


# -- XML ----------------------------------------------------------------------------------------

SAMPLE_TAGS = ("httpSample", "sample")


class XmlReader:
    """<testResults> read by expat as it streams in; a sample's attributes are all it needs."""

    def __init__(self, src: Source, progress: Progress | None):
        self.src = src
        self.tick = Ticker(progress, src)
        self.totals = Totals()
        self.rows: list[tuple] = []
        self.depth = 0
        self.event_at = 0  # byte offset of the last tag read
        self.parser = ParserCreate()
        self.parser.StartElementHandler = self._start
        self.parser.EndElementHandler = self._end
        self.parser.CharacterDataHandler = self._text  # saved response data: text in pieces
        # A JTL has no DTD; refusing one refuses entity expansion attacks (billion laughs).
        self.parser.StartDoctypeDeclHandler = self._doctype
        self.parser.EntityDeclHandler = self._doctype

    def run(self, head: bytes) -> None:
        fed, chunk = 0, head
        while chunk:
            try:
                self.parser.Parse(chunk, False)
            except ExpatError as exc:
                raise ParseError(
                    f"not well-formed XML ({_expat_reason(exc)})", exc.lineno
                ) from None
            except ValueError as exc:  # "multi-byte encodings are not supported"
                raise ParseError(f"an XML encoding this reader cannot read ({exc})", 1) from None
            fed += len(chunk)
            if fed - self.event_at > MAX_LINE:  # expat holds an unfinished tag whole
                raise ParseError("a tag longer than 1 MiB (not a JMeter result)", self.line())
            self._flush()
            self.totals.settle(final=False)
            self.tick(self.line())
            chunk = self.src.read(CHUNK)
        try:
            self.parser.Parse(b"", True)
        except ExpatError as exc:
            if self.depth == 0 or not self.totals.rows + len(self.rows):
                raise ParseError(f"the XML ends early ({_expat_reason(exc)})", exc.lineno) from None
            self.cut = True  # JMeter stopped before closing </testResults>: the samples stand
        self._flush()
        self.tick(self.line(), final=True)

    cut = False

    def line(self) -> int:
        return self.parser.CurrentLineNumber

    def _doctype(self, *args) -> None:
        raise ParseError("a DTD or entity declaration in a JTL (JMeter writes none)", self.line())

    def _start(self, name: str, attrs: dict) -> None:
        self.event_at = self.parser.CurrentByteIndex
        self.depth += 1
        if self.depth == 1:
            if name != "testResults":
                raise ParseError(f"XML whose root is <{name}>, not JMeter's <testResults>", 1)
        elif self.depth == 2 and name in SAMPLE_TAGS:
            self.rows.append(self._row(attrs))
        elif self.depth > 2 and name in SAMPLE_TAGS:
            self.totals.sub_results += 1

    def _end(self, name: str) -> None:
        self.event_at = self.parser.CurrentByteIndex
        self.depth -= 1

    def _text(self, data: str) -> None:
        self.event_at = self.parser.CurrentByteIndex

    def _row(self, attrs: dict) -> tuple:
        line = self.line()

        def whole(key, default=None) -> bytes:
            value = attrs.get(key, default)
            if value is None or not value.isdigit():
                what = "missing" if value is None else repr(value[:40])
                raise ParseError(f"<{key}=...> is {what}, not a whole number", line)
            return value.encode()

        success = attrs.get("s", "").strip().lower().encode()
        if success not in BOOLS:
            raise ParseError(f"s={attrs.get('s')!r} is neither true nor false", line)
        start = int(whole("ts")) or None  # 0: the sample never started
        threads = attrs.get("na", "")
        return (
            start,
            whole("t"),
            attrs.get("lb", "").encode("utf-8", "surrogatepass"),
            success,
            attrs.get("rc", "").encode("utf-8", "surrogatepass"),
            threads.encode() if threads.isdigit() else b"",
            (whole("sc", "1"), whole("ec", "0" if success == b"true" else "1")),
        )

    def _flush(self) -> None:
        rows, self.rows = self.rows, []
        self.totals.add_rows(rows, True, True, True)


def _expat_reason(exc: ExpatError) -> str:
    return str(exc).split(":")[0]


# -- the file-level driver ------------------------------------------------------------------------


def parse_jmeter(
    path: str | os.PathLike, fmt: str = "auto", progress: Progress | None = None
) -> RunResult:
    """Stream a JTL (CSV or XML, plain or gzip) into a RunResult; ParseError on bad input.

    The file is opened once and its head read from the same stream: an upload still
    arriving (uploads.GrowingFile) can be read only once."""
    warnings = [PERCENTILE_NOTE]
    with Source(path) as src:
        head = src.read(BLOCK)
        while len(head) < (1 << 16) and b"\n" not in head.lstrip() and (more := src.read(BLOCK)):
            head += more
        head = head.removeprefix(b"\xef\xbb\xbf")
        if not head.strip():
            raise ParseError("file is empty")
        xml = head.lstrip().startswith(b"<")
        if fmt == "jmeter-xml" and not xml:
            raise ParseError("not XML: give --format jmeter-csv (or auto) for a CSV JTL", 1)
        if fmt == "jmeter-csv" and xml:
            raise ParseError("an XML JTL: give --format jmeter-xml (or auto)", 1)
        if xml:
            reader = XmlReader(src, progress)
            reader.run(head)
            encoding = "utf-8"
            cut = (
                "the XML ends before </testResults> (JMeter stopped mid-write?); "
                "figures use the samples before the cut"
                if reader.cut
                else None
            )
            res = RunResult(tool="jmeter", format="jmeter-xml", lines=reader.line())
        else:
            blank = len(head) - len(head.lstrip(b"\r\n"))  # blank lines before the first row
            skipped = head[:blank].count(b"\n")
            head = head[blank:]
            layout = csv_layout(head.split(b"\n", 1)[0], skipped + 1)
            if not layout.has_header:
                warnings.append(
                    "no header line: read with JMeter's default leading columns "
                    f"({', '.join(DEFAULT_LEAD)})"
                )
            reader = CsvReader(src, layout, progress)
            reader.line = skipped
            reader.run(head)
            cut, encoding = reader.cut, None
            res = RunResult(tool="jmeter", format="jmeter-csv", lines=reader.line)
    totals = reader.totals
    totals.settle(final=True)
    if not totals.rows:
        raise ParseError("no samples in this JTL")
    if cut is not None:
        res.complete, res.incomplete_reason = False, cut
    res.warnings = warnings
    _build(totals, res, encoding)
    return res


def _build(t: Totals, res: RunResult, encoding: str | None) -> None:
    labels = sorted({key[0] for key in t.hist} | {key[0] for key in t.weighted})
    names, used = decode_names(labels, encoding)
    if used not in ("utf-8", "ascii"):
        res.encoding = used
        res.warnings.append(f"labels decoded as {used} (guessed: they are not UTF-8)")
    if t.first_ms is not None and t.last_end_ms is not None:
        res.started_at = datetime.fromtimestamp(t.first_ms / 1000, UTC)
        res.ended_at = datetime.fromtimestamp(t.last_end_ms / 1000, UTC)
        res.duration_s = (t.last_end_ms - t.first_ms) / 1000
    else:
        res.warnings.append("no timeStamp column: no timeline, throughput or duration")
    per: dict[bytes, dict] = {
        label: {"times": Counter(), "n": 0, "failed": t.failed.get(label, 0), "sum": 0}
        for label in labels
    }
    for (label, elapsed), n in t.hist.items():
        p, value = per[label], int(elapsed)
        p["times"][value] += n
        p["n"] += n
        p["sum"] += n * value
    for (label, _success, elapsed, samples, errors), n in t.weighted.items():
        # StatCalculator.addValue(elapsed, sampleCount): elapsed / sampleCount (whole ms)
        # counted sampleCount times, elapsed added to the sum once; the row's ErrorCount
        p, value, samples = per[label], int(elapsed), int(samples)
        if samples:
            p["times"][value // samples if samples > 1 else value] += n * samples
        p["n"] += n * samples
        p["failed"] += n * int(errors)
        p["sum"] += n * value
    everything = {"times": Counter(), "n": 0, "failed": 0, "sum": 0}
    for p in per.values():
        everything["times"].update(p["times"])
        for k in ("n", "failed", "sum"):
            everything[k] += p[k]
    res.endpoints = {names[label]: _stats(per[label], res.duration_s) for label in labels}
    res.overall = _stats(everything, res.duration_s)
    if not res.overall.requests:
        raise ParseError("no samples in this JTL")
    res.scenarios = {"default": res.overall}
    _timeouts(t, names, res)
    _series(t, res)
    overall_metrics(res)
    if t.pooled:
        res.warnings.append(
            f"more than {MAX_LABELS} labels (an id in a sampler's name?): the others are "
            f"pooled as {OTHER_LABELS.decode()}"
        )
    if t.sub_results:
        res.warnings.append(
            f"{t.sub_results} sub-result(s) (embedded resources, transaction children) are "
            "counted in their parent sample only, as JMeter's Aggregate Report does"
        )
    if t.late:
        res.warnings.append(
            f"{t.late} sample(s) were written more than {SERIES_LAG_S} s after others that "
            "ended later, and are left out of their second's p95"
        )
    if t.dated:
        res.warnings.append("timestamps carry no time zone: read as UTC")
    if t.untimed:
        res.warnings.append(
            f"{t.untimed} sample(s) have timeStamp 0 (they never started, e.g. a malformed "
            "URL): counted, but not on the timeline nor in the run's span"
        )


def _stats(p: dict, duration: float | None) -> Stats:
    times, n = p["times"], p["n"]
    pct = {k: jmeter_percentile(times, n, v) for k, v in PERCENTS.items()}
    return Stats(
        requests=n,
        failed=p["failed"],
        error_rate=p["failed"] / n if n else 0.0,
        rps=n / duration if duration else 0.0,
        p50_ms=pct[50],
        p90_ms=pct[90],
        p95_ms=pct[95],
        p99_ms=pct[99],
        max_ms=max(times) if times else None,
        avg_ms=p["sum"] / n if n else None,
        min_ms=min(times) if times else None,
    )


def _timeouts(t: Totals, names: dict, res: RunResult) -> None:
    for (label, code), n in t.codes.items():
        text = code.decode("utf-8", "replace")
        if not _TIMEOUT.search(text):
            continue
        kind = text.rsplit(":", 1)[-1].strip() or text
        res.timeout_breakdown[kind] = res.timeout_breakdown.get(kind, 0) + n
        res.overall.timeouts += n
        res.endpoints[names[label]].timeouts += n


def _series(t: Totals, res: RunResult) -> None:
    """One point per second (of end time) from the first to the last; a pause longer than
    RUN_GAP_S with nothing running through it (JMeter appends each run to an existing .jtl) is
    not filled second by second but marked by an empty point at each edge, and said in a
    warning."""
    if not t.sec_req:
        return
    fails, threads = t.sec_fail, None
    busy = sorted(t.sec_req)
    runs = [busy[0]]
    for before, sec in pairwise(busy):
        # a pause with no sample ending is a new run unless one ending after it was running
        # through it (every thread stuck on a long timeout)
        if sec - before > RUN_GAP_S and t.longest.get(sec, 0) < (sec - before - 1) * 1000:
            runs.append(sec)
            wanted, threads = (before + 1, sec - 1), None
        else:
            wanted = range(before + 1, sec)
        for empty in wanted:
            res.series.append(SeriesPoint(empty, vus=threads))
        threads = t.sec_threads.get(sec, threads)
        res.series.append(
            SeriesPoint(sec, t.sec_req[sec], fails.get(sec, 0), t.p95.get(sec), threads)
        )
    first = busy[0]
    res.series.insert(
        0,
        SeriesPoint(
            first, t.sec_req[first], fails.get(first, 0), t.p95.get(first), t.sec_threads.get(first)
        ),
    )
    if len(runs) > 1:
        starts = ", ".join(
            datetime.fromtimestamp(sec, UTC).strftime("%Y-%m-%d %H:%M:%S") for sec in runs[:5]
        )
        more = f" and {len(runs) - 5} more" if len(runs) > 5 else ""
        res.warnings.append(
            f"{len(runs)} runs in one file (pauses of more than {RUN_GAP_S} s; JMeter appends "
            f"to an existing .jtl): they start at {starts}{more} UTC. The figures cover all of "
            "them, as JMeter's own report would: give one run per file (jmeter -f overwrites)"
        )
