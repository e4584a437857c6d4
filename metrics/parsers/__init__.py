"""Streaming parsers for load-test results: k6 NDJSON and summaries, Locust CSV and JSON,
JMeter JTL (CSV and XML).

Pure Python (orjson, hdrhistogram, charset-normalizer), no Django. Public API:

    detect_format(path) -> one of FORMATS
    parse_file(path, fmt="auto", *, progress=None) -> RunResult
    ParseError, RunResult, Stats, SeriesPoint
    derived: spike_recovery, latency_drift, flow_success (metrics.parsers.derived)

Figure definitions and the accepted formats are documented in docs/ingestion.md.
"""

from __future__ import annotations

import csv
import importlib
import os
import zlib

from .detect import detect_format
from .errors import ParseError
from .model import RunResult, SeriesPoint, Stats
from .reader import CallbackError, Progress

# Each parser, and the derived checks, load on first use: a JTL parse then never imports
# hdrhistogram and the k6 machinery (about 60 ms of a command's start).
PARSERS = {
    "k6-json": ("k6_result", "parse_k6_ndjson"),
    "k6-summary": ("k6_summary", "parse_k6_summary"),
    "locust-csv": ("locust_csv", "parse_locust"),
    "locust-json": ("locust_json", "parse_locust_json"),
}
DERIVED = ("Drift", "Recovery", "flow_success", "latency_drift", "spike_recovery")


def __getattr__(name: str):
    if name in DERIVED:
        return getattr(importlib.import_module(".derived", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "Drift",
    "ParseError",
    "Recovery",
    "RunResult",
    "SeriesPoint",
    "Stats",
    "detect_format",
    "flow_success",
    "latency_drift",
    "parse_file",
    "spike_recovery",
]

FORMATS = ("k6-json", "k6-summary", "locust-csv", "locust-json", "jmeter-csv", "jmeter-xml")
# What bad data could provoke in a parser bug. Deliberately not `Exception`: asynchronous
# exceptions such as Celery's SoftTimeLimitExceeded must pass through untouched.
_DATA_ERRORS = (
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    AttributeError,
    ArithmeticError,
    LookupError,
    EOFError,
    OSError,
    csv.Error,
    zlib.error,
)


def parse_file(
    path: str | os.PathLike, fmt: str = "auto", *, progress: Progress | None = None
) -> RunResult:
    """Parse one result file (or Locust --csv prefix) into a RunResult.

    `fmt` is "auto" (detect by content) or one of FORMATS. gzip input is accepted for every
    format. `progress(bytes_read, total_bytes, lines)` is called at most ~10 times a second;
    whatever it raises propagates unchanged (a way to cancel). Raises ParseError - and no
    other exception - for anything that is not a usable result.
    """
    try:
        return _parse(path, fmt, progress)
    except ParseError:
        raise
    except CallbackError as exc:
        raise exc.error from None  # the caller's own exception, unchanged
    except RecursionError:
        raise ParseError("input nested too deeply") from None
    except MemoryError:
        raise ParseError("input too large to parse") from None
    except _DATA_ERRORS as exc:  # a parser bug must still reach the user as a ParseError
        raise ParseError(f"could not read this file ({type(exc).__name__}: {exc})") from exc


def _parse(path, fmt: str, progress: Progress | None) -> RunResult:
    if fmt == "auto":
        fmt = detect_format(path)
    if fmt in PARSERS:
        module, function = PARSERS[fmt]
        return getattr(importlib.import_module(f".{module}", __name__), function)(path, progress)
    if fmt in ("jmeter-csv", "jmeter-xml"):
        from .jmeter import parse_jmeter  # detect_format has loaded it already

        return parse_jmeter(path, fmt, progress)
    raise ParseError(f"unknown format {fmt!r} (expected auto or one of {', '.join(FORMATS)})")
