"""k6 timestamps (Go RFC3339Nano in the k6 machine's local zone) to UTC epoch seconds.

A time is kept as (epoch second, fraction digits as bytes): comparing fraction digit strings
lexicographically equals comparing the fractions (k6 trims trailing zeros), so the hot loop never
builds a float or a datetime. `Clock.epoch` caches one entry per distinct second.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

TIME_PATTERN = rb"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)"
_TIME_RE = re.compile(TIME_PATTERN + rb"$")
MIN_YEAR, MAX_YEAR = 2000, 2200  # outside: certainly not a real load test
_CACHE_LIMIT = 4096


class BadValue(Exception):
    """Raised inside the parsers for a bad line; turned into ParseError with its line number."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class Clock:
    """Epoch-second lookups for the time strings of one file."""

    def __init__(self):
        self.tz: bytes = b"\x00"  # zone suffix of the first time seen; the cache is for it only
        self.tzlen = 1
        self.cache: dict[bytes, int] = {}

    def epoch(self, sec: bytes, tz: bytes) -> int:
        """UTC epoch second of "YYYY-MM-DDTHH:MM:SS" + zone suffix (b"Z" or b"+01:00")."""
        if tz == self.tz:
            hit = self.cache.get(sec)
            if hit is not None:
                return hit
        text = (sec + (b"+00:00" if tz == b"Z" else tz)).decode("ascii", "replace")
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise BadValue(f'time "{text}" is not a valid RFC 3339 time') from None
        if not MIN_YEAR <= moment.year <= MAX_YEAR:
            raise BadValue(f'time "{text}" is outside the years {MIN_YEAR}..{MAX_YEAR}')
        value = int(moment.timestamp())
        if self.tz == b"\x00":
            self.tz, self.tzlen = tz, len(tz)
        if tz == self.tz:
            if len(self.cache) >= _CACHE_LIMIT:
                self.cache.clear()
            self.cache[sec] = value
        return value

    def parse(self, text) -> tuple[int, bytes]:
        """(epoch second, fraction digits) of a whole time string; BadValue when invalid."""
        raw = text.encode("utf-8", "replace") if isinstance(text, str) else bytes(text)
        m = _TIME_RE.match(raw)
        if m is None:
            shown = raw[:60].decode("utf-8", "replace")
            raise BadValue(f'time "{shown}" is not an RFC 3339 time')
        sec, frac, tz = m.groups()
        return self.epoch(sec, tz), frac or b""


def frac_seconds(frac: bytes) -> float:
    """b"287459063" -> 0.287459063."""
    return int(frac) / 10 ** len(frac) if frac else 0.0


def to_datetime(sec: int, frac: bytes) -> datetime:
    """An aware UTC datetime (microsecond precision) for (epoch second, fraction digits)."""
    micros = int((frac + b"000000")[:6]) if frac else 0
    return datetime.fromtimestamp(sec, UTC) + timedelta(microseconds=micros)
