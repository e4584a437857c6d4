"""Streaming parser for k6 `--out json=FILE` (NDJSON, optionally gzip).

Fast path (k6 >= v0.41 key order): each line is dispatched on its first KEY_LEN bytes,
`{"metric":"<name>","type":"Point","data":{"time":"...`, through one dict lookup. Lines of
metrics we do not aggregate (SKIPPED) are only checked to end in `}}}`. For http_reqs,
http_req_duration, http_req_failed and checks, the time and value are sliced out at known
offsets, the time is resolved through a per-second cache (validated the first time) and the
tag object plus the closing `}}` is looked up as raw bytes in a cache whose entries were
validated by a full orjson parse the first time they were seen. Everything else - Metric lines,
old key orders (k6 <= v0.40), lines with `metadata`, CRLF, custom metrics, unknown shapes and
every line the fast path is unsure about - is fully parsed with orjson (`_slow`) and aggregated
the same way, so both paths give identical figures (tested by rewriting real files).

An http_req_failed line with value 0 is counted without looking at its tags.
"""

from __future__ import annotations

import orjson

from .k6_state import Agg, Scopes, Series, check_duration, check_value
from .k6_time import BadValue, Clock
from .reader import MAX_LINE
from .thresholds import threshold_source

KEY_LEN = 36  # a 24-char metric name plus its closing quote fits: keys are unambiguous
SKIPPED = frozenset(
    {
        "http_req_blocked",
        "http_req_connecting",
        "http_req_tls_handshaking",
        "http_req_sending",
        "http_req_waiting",
        "http_req_receiving",
        "data_sent",
        "data_received",
        "iteration_duration",
        "iterations",
    }
)
BUILTIN_KINDS = {
    "http_reqs": "counter",
    "http_req_duration": "trend",
    "http_req_failed": "rate",
    "checks": "rate",
    "vus": "gauge",
    "vus_max": "gauge",
    "group_duration": "trend",
    "dropped_iterations": "counter",
    "data_sent": "counter",
    "data_received": "counter",
    "iteration_duration": "trend",
    "iterations": "counter",
    "http_req_blocked": "trend",
    "http_req_connecting": "trend",
    "http_req_tls_handshaking": "trend",
    "http_req_sending": "trend",
    "http_req_waiting": "trend",
    "http_req_receiving": "trend",
}
KINDS = ("counter", "gauge", "rate", "trend")
NOT_K6 = 'not a k6 JSON line (expected an object with "type": "Metric" or "Point")'
MAX_CHECKS = 1000
_SKIP = object()
FLUSH_EVERY = 16  # batches (about 4 MiB of input) between bucketing pending durations
_CACHE_LIMIT = 50_000


def point_prefix(name: str) -> bytes:
    """How k6 >= v0.41 starts a Point line of metric `name`, up to the time value."""
    return b'{"metric":' + orjson.dumps(name) + b',"type":"Point","data":{"time":"'


def json_error(exc: Exception, text: bytes) -> str:
    """A plain-words message for an orjson decoding error."""
    msg = str(exc)
    for word in (b"NaN", b"Infinity"):
        if word in text and "unexpected character" in msg:
            return f"value {word.decode()} is not a number"
    if "UTF-8" in msg:
        return "not valid UTF-8 text"
    if "depth limit" in msg or "recursion" in msg:
        return "JSON nested too deeply"
    return f"not valid JSON ({msg.split(':')[0]})"


def _digits(frac: bytes) -> bytes:
    if frac and not (frac.isdigit() and len(frac) <= 9):
        raise BadValue(f"time fraction {frac[:20]!r} is not 1-9 digits")
    return frac


def _tags(value) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise BadValue('"tags" must be an object whose values are strings')
    return value


class K6Ndjson:
    """Feed batches of lines with `feed`; then `finish` (in k6_result) builds the RunResult."""

    def __init__(self):
        self.warnings: list[str] = []
        self.clock = Clock()
        self.scopes = Scopes(self.warnings)
        self.series = Series()
        self.http_cache: dict[bytes, list] = {}
        self.check_cache: dict[bytes, list] = {}
        self.checks: dict[tuple[str, str], list[int]] = {}  # (check, group) -> [fails, passes]
        self.defs: dict[str, dict] = {}  # metric -> {"kind", "thresholds"}
        self.aggs: dict[str, Agg] = {}
        self.vus_by_sec: dict[int, int] = {}
        self.fail_points = 0
        self.fail_sum = 0
        self.lo_sec, self.lo_frac = 1 << 62, b""
        self.hi_sec, self.hi_frac = -1, b""
        self.skip = set(SKIPPED)
        self.lineno = 0
        self.batches = 0
        self.pending: BadValue | None = None  # bad line that is fine only if nothing follows
        self.pending_line = 0
        self.table = self._build_table()

    # ---- driving -------------------------------------------------------------------------

    def feed(self, batch: list[bytes]) -> None:
        """Process complete lines. A bad line raises BadValue (with .lineno set) unless only
        blank lines follow it, in which case it is remembered as `pending`."""
        if self.pending is not None:
            self._after_pending(batch)
            return
        table, slow, skip = self.table, self._slow, _SKIP
        line = b""
        try:
            for line in batch:
                h = table.get(line[:KEY_LEN])
                if h is skip:
                    if line[-3:] != b"}}}":
                        slow(line)
                elif h is None or h(line):
                    slow(line)
        except BadValue as exc:
            i = next(i for i, x in enumerate(batch) if x is line)  # no per-line counter
            self._bad_at(exc, self.lineno + i + 1, batch[i + 1 :])
        self.lineno += len(batch)
        self.batches += 1
        if not self.batches % FLUSH_EVERY:
            self.scopes.flush()

    def _bad_at(self, exc: BadValue, n: int, rest: list[bytes]) -> None:
        exc.lineno = n
        if any(line.strip() for line in rest):
            raise exc
        self.pending, self.pending_line = exc, n

    def _after_pending(self, batch: list[bytes]) -> None:
        if any(line.strip() for line in batch):
            raise self.pending
        self.lineno += len(batch)

    # ---- fast path -------------------------------------------------------------------------

    def _build_table(self) -> dict:
        table = {point_prefix(name)[:KEY_LEN]: _SKIP for name in SKIPPED}
        table[point_prefix("http_reqs")[:KEY_LEN]] = self._fast_reqs()
        table[point_prefix("http_req_duration")[:KEY_LEN]] = self._fast_duration()
        table[point_prefix("http_req_failed")[:KEY_LEN]] = self._fast_failed()
        table[point_prefix("checks")[:KEY_LEN]] = self._fast_checks()
        return table

    def _sec(self, line: bytes, start: int, end: int) -> int:
        """Epoch second of the time text line[start:end] (cached per second and zone)."""
        clock = self.clock
        sec = clock.cache.get(line[start : start + 19])
        if sec is None or line[end - clock.tzlen : end] != clock.tz:
            sec = clock.parse(line[start:end])[0]
        return sec

    def _fast_reqs(self):
        """Handler for http_reqs Point lines: scope counter, series, run time span."""
        pre = point_prefix("http_reqs")
        at, find, cache, entry_for = len(pre), bytes.find, self.http_cache, self._entry_bytes
        clock, ccache, series = self.clock, self.clock.cache, self.series
        cur_sec, cur_b = -1, None
        lo_s, lo_f, hi_s, hi_f = 1 << 62, b"", -1, b""  # this path's part of the time span

        def handle(line: bytes):
            nonlocal cur_sec, cur_b, lo_s, lo_f, hi_s, hi_f
            q = find(line, b'","value":1,"tags":', at)
            if q < 0:
                return True
            sec = ccache.get(line[at : at + 19])
            if sec is None or line[q - clock.tzlen : q] != clock.tz:
                sec = clock.parse(line[at:q])[0]
            key = line[q + 19 :]
            e = cache.get(key) or entry_for(key)
            if e is None:
                return True
            e[0] += 1
            if sec != cur_sec:
                cur_sec, cur_b = sec, series.switch(sec)
            cur_b.requests += 1
            if sec >= hi_s or sec <= lo_s:  # same as _span, inline: fraction only when needed
                frac = line[at + 20 : q - clock.tzlen] if line[at + 19] == 46 else b""
                if sec > hi_s or (sec == hi_s and frac > hi_f):
                    hi_s, hi_f = sec, frac
                if sec < lo_s or (sec == lo_s and frac < lo_f):
                    lo_s, lo_f = sec, frac
            return False

        self._fast_span = lambda: (lo_s, lo_f, hi_s, hi_f)
        return handle

    def _fast_duration(self):
        """Handler for http_req_duration Point lines: histogram of the scope, series."""
        pre = point_prefix("http_req_duration")
        at, find, cache, entry_for = len(pre), bytes.find, self.http_cache, self._entry_bytes
        clock, ccache, series = self.clock, self.clock.cache, self.series
        cur_sec, cur_b = -1, None

        def handle(line: bytes):
            nonlocal cur_sec, cur_b
            q = find(line, b'","value":', at)
            end = find(line, b',"tags":', q)
            if q < 0 or end < 0:
                return True
            try:
                value = float(line[q + 10 : end])
            except ValueError:
                return True
            if not 0 <= value <= 1e9:  # also false for NaN: the slow path says what is wrong
                return True
            sec = ccache.get(line[at : at + 19])
            if sec is None or line[q - clock.tzlen : q] != clock.tz:
                sec = clock.parse(line[at:q])[0]
            key = line[end + 8 :]
            e = cache.get(key) or entry_for(key)
            if e is None:
                return True
            e[1].append(value)  # the scope histogram's pending values (bucketed in bulk)
            if sec != cur_sec:
                cur_sec, cur_b = sec, series.switch(sec)
            vals = cur_b.vals
            if vals is None:
                series.late += 1
            else:
                vals.append(value)
            return False

        return handle

    def _fast_failed(self):
        pre = point_prefix("http_req_failed")
        at, find, cache, entry_for = len(pre), bytes.find, self.http_cache, self._entry_bytes
        zeros = 0

        def handle(line: bytes):
            nonlocal zeros
            q = find(line, b'","value":', at)
            if q < 0:
                return True
            if line[q + 10 : q + 19] == b'0,"tags":' and line[-3:] == b"}}}":
                zeros += 1  # the common case: no tags needed
                return False
            if line[q + 10 : q + 19] != b'1,"tags":':
                return True
            key = line[q + 19 :]
            e = cache.get(key) or entry_for(key)
            if e is None:
                return True
            self.add_failed(e, self._sec(line, at, q), 1.0)
            return False

        self._zero_fails = lambda: zeros
        return handle

    def _fast_checks(self):
        pre = point_prefix("checks")
        at, find, cache = len(pre), bytes.find, self.check_cache

        def handle(line: bytes):
            q = find(line, b'","value":', at)
            if q < 0:
                return True
            v = line[q + 10 : q + 19]
            if v != b'1,"tags":' and v != b'0,"tags":':
                return True
            key = line[q + 19 :]
            counter = cache.get(key)
            if counter is None:
                counter = self._check_bytes(key)
                if counter is None:
                    return True
            counter[v[0] == 49] += 1
            return False

        return handle

    def _entry_bytes(self, key: bytes):
        """Resolve raw `{tags}}}` bytes to an HTTP scope entry (cached); None if unsure."""
        tags = self._tags_bytes(key)
        if tags is None:
            return None
        if len(self.http_cache) >= _CACHE_LIMIT:
            self.http_cache.clear()
            self.scopes.fold()
        e = self.http_cache[key] = self.scopes.entry(tags)
        return e

    def _check_bytes(self, key: bytes):
        tags = self._tags_bytes(key)
        if tags is None:
            return None
        if len(self.check_cache) >= _CACHE_LIMIT:
            self.check_cache.clear()
        counter = self.check_cache[key] = self.check_counter(tags)
        return counter

    @staticmethod
    def _tags_bytes(key: bytes) -> dict | None:
        if not key.endswith(b"}}") or len(key) > MAX_LINE:
            return None
        try:
            tags = orjson.loads(key[:-2])
        except orjson.JSONDecodeError:
            return None
        if not isinstance(tags, dict) or not all(isinstance(v, str) for v in tags.values()):
            return None
        return tags

    # ---- aggregation (shared by both paths) ------------------------------------------------

    def _request_slow(self, e: list, sec: int, frac: bytes) -> None:
        """The http_reqs handler's work for the slow path (time split into second, fraction)."""
        e[0] += 1
        self.series.switch(sec).requests += 1
        self._span(sec, frac)

    def _duration_slow(self, e: list, sec: int, value: float) -> None:
        """The http_req_duration handler's work for the slow path."""
        e[1].append(value)
        b = self.series.switch(sec)
        if b.vals is None:
            self.series.late += 1
        else:
            b.vals.append(value)

    def _span(self, sec: int, frac: bytes) -> None:
        """Widen the run's time span. Fraction digits compare correctly as bytes; they are
        checked to be digits in `span()`, once, for the two that are kept."""
        if sec > self.hi_sec or (sec == self.hi_sec and frac > self.hi_frac):
            self.hi_sec, self.hi_frac = sec, frac
        if sec < self.lo_sec or (sec == self.lo_sec and frac < self.lo_frac):
            self.lo_sec, self.lo_frac = sec, frac

    def failed_points(self) -> int:
        """Number of http_req_failed points (both paths)."""
        return self.fail_points + self._zero_fails()

    def span(self) -> tuple[int, bytes, int, bytes] | None:
        """(first second, its fraction, last second, its fraction) or None without samples."""
        lo_s, lo_f, hi_s, hi_f = self._fast_span()
        if hi_s >= 0:
            self._span(lo_s, lo_f)
            self._span(hi_s, hi_f)
        if self.hi_sec < 0:
            return None
        return self.lo_sec, _digits(self.lo_frac), self.hi_sec, _digits(self.hi_frac)

    def add_failed(self, e: list, sec: int, value: float) -> None:
        """One http_req_failed point (0 or 1)."""
        self.fail_points += 1
        if value:
            self.fail_sum += 1
            e[2].failed += 1
            self.series.switch(sec).failures += 1

    def check_counter(self, tags: dict) -> list[int]:
        """The [fails, passes] counter of the check named in these tags (capped count)."""
        key = (tags.get("check", ""), tags.get("group", ""))
        counter = self.checks.get(key)
        if counter is None:
            if len(self.checks) >= MAX_CHECKS:
                key = ("(other checks)", "")
                counter = self.checks.get(key)
            if counter is None:
                counter = self.checks[key] = [0, 0]
        return counter

    # ---- slow path -------------------------------------------------------------------------

    def _slow(self, line: bytes) -> None:
        text = line.strip()
        if not text:
            return
        if len(text) > MAX_LINE:
            raise BadValue(f"line longer than {MAX_LINE // (1 << 20)} MiB")
        try:
            d = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            raise BadValue(json_error(exc, text)) from None
        if not isinstance(d, dict) or d.get("type") not in ("Metric", "Point"):
            raise BadValue(NOT_K6)
        data = d.get("data")
        if not isinstance(data, dict):
            raise BadValue('"data" must be an object')
        if d["type"] == "Metric":
            self._metric(d, data)
        else:
            self._point(d, data)

    def _metric(self, d: dict, data: dict) -> None:
        name = d.get("metric") or data.get("name")
        if not isinstance(name, str) or not name:
            raise BadValue("Metric line without a metric name")
        kind = data.get("type")
        if kind not in KINDS:
            raise BadValue(
                f'unknown metric type "{str(kind)[:40]}" for metric "{name[:80]}" '
                "(expected counter, gauge, rate or trend)"
            )
        raw = data.get("thresholds") or []
        exprs = [threshold_source(t) for t in (raw if isinstance(raw, list) else list(raw))]
        known = self.defs.setdefault(name, {"kind": kind, "thresholds": []})
        for expr in exprs:
            if expr is not None and expr not in known["thresholds"]:
                known["thresholds"].append(expr)
        if name in self.skip and known["thresholds"]:
            self.skip.discard(name)  # a threshold needs its aggregate after all
            self.table.pop(point_prefix(name)[:KEY_LEN], None)

    def _point(self, d: dict, data: dict) -> None:
        name = d.get("metric")
        if not isinstance(name, str) or not name:
            raise BadValue("Point line without a metric name")
        value = data.get("value")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise BadValue(f"value of {name[:80]} must be a number, not {type(value).__name__}")
        value = check_value(float(value), name)
        if not isinstance(data.get("time"), str):
            raise BadValue(f"time of {name[:80]} must be a string")
        sec, frac = self.clock.parse(data["time"])
        tags = _tags(data.get("tags"))
        self._dispatch(name, sec, frac, value, tags)

    def _dispatch(self, name, sec, frac, value, tags) -> None:
        if name == "http_reqs":
            self._request_slow(self._tag_entry(tags), sec, frac)
        elif name == "http_req_duration":
            self._duration_slow(self._tag_entry(tags), sec, check_duration(value, name))
        elif name == "http_req_failed":
            if value not in (0, 1):
                raise BadValue(f"http_req_failed value must be 0 or 1, not {value:g}")
            self.add_failed(self._tag_entry(tags), sec, value)
        elif name == "checks":
            self.check_counter(tags)[value != 0] += 1
        elif name not in self.skip:
            self._generic(name, sec, frac, value)

    def _tag_entry(self, tags: dict) -> list:
        """The cached entry for a tag set parsed on the slow path (keyed like the fast path)."""
        key = orjson.dumps(tags) + b"}}"
        return self.http_cache.get(key) or self._entry_bytes(key)

    def _generic(self, name: str, sec: int, frac: bytes, value: float) -> None:
        agg = self.aggs.get(name)
        if agg is None:
            kind = self.defs.get(name, {}).get("kind") or BUILTIN_KINDS.get(name)
            if kind is None:
                raise BadValue(
                    f'point of metric "{name[:80]}" before its Metric line (unknown metric type)'
                )
            agg = self.aggs[name] = Agg(kind)
        agg.add(value)
        if name == "vus":
            self.vus_by_sec[sec] = int(value)
            self._span(sec, frac)
