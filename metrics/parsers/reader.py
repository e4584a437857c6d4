"""Opening result files (plain or gzip, told apart by magic bytes) and reading them in chunks.

Nothing here holds a whole file: `LineReader` yields lists of complete lines from 256 KiB reads and
keeps at most one partial line (capped at MAX_LINE bytes) between reads.
"""

from __future__ import annotations

import gzip
import os
import time
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from .errors import ParseError

GZIP_MAGIC = b"\x1f\x8b"
CHUNK = 1 << 18  # 256 KiB: small batches keep freshly split lines in the CPU cache
MAX_LINE = 1 << 20  # no real k6/Locust line comes near this; longer ones are rejected
PROGRESS_EVERY_S = 0.1
# Decompression-bomb guard (reliability.md U2). Real k6 NDJSON gzips about 25:1; a stream that
# expands more than MAX_RATIO times once past RATIO_FLOOR bytes, or past MAX_EXPANDED in all,
# is refused before it can tie a worker up for minutes on zeros or empty lines.
MAX_RATIO = 200
RATIO_FLOOR = 16 << 20
MAX_EXPANDED = 32 << 30

Progress = Callable[[int, int, int], None]


class CallbackError(Exception):
    """Carries an exception raised by the caller's progress callback out of the parser, so
    that parse_file can re-raise it unchanged (e.g. to cancel a parse)."""

    def __init__(self, error: BaseException):
        super().__init__(str(error))
        self.error = error


def report(progress: Progress, done: int, total: int, lines: int) -> None:
    """Call the progress callback; whatever it raises leaves the parser as CallbackError."""
    try:
        progress(done, total, lines)
    except Exception as exc:
        raise CallbackError(exc) from exc


class Source:
    """One opened input file. `read(n)` returns decompressed bytes; `bytes_read()` counts
    on-disk (compressed) bytes consumed so far; `total` is the on-disk size."""

    def __init__(self, path: str | os.PathLike | BinaryIO):
        if hasattr(path, "readinto"):  # an open stream: an upload still arriving
            self.path = Path(getattr(path, "name", "upload"))
            self.raw, self.total = path, getattr(path, "total", 0)
        else:
            self.path = Path(path)
            try:
                self.raw = open(self.path, "rb")  # noqa: SIM115 - closed by close()/__exit__
            except OSError as exc:
                raise ParseError(f"cannot open {self.path.name}: {exc.strerror or exc}") from None
            self.total = os.fstat(self.raw.fileno()).st_size
        self.is_gzip = self.raw.read(2) == GZIP_MAGIC
        self.raw.seek(0)
        self.stream = gzip.GzipFile(fileobj=self.raw, mode="rb") if self.is_gzip else self.raw
        self.expanded = 0

    def read(self, n: int = CHUNK) -> bytes:
        """Up to n decompressed bytes; b"" at the end. Gzip damage becomes ParseError."""
        try:
            data = self.stream.read(n)
        except EOFError:
            raise ParseError("gzip file is truncated") from None
        except (gzip.BadGzipFile, zlib.error) as exc:
            raise ParseError(f"gzip data is corrupt ({exc})") from None
        except OSError as exc:
            raise ParseError(f"cannot read {self.path.name}: {exc}") from None
        if self.is_gzip:
            self._check_expansion(len(data))
        return data

    def _check_expansion(self, n: int) -> None:
        self.expanded += n
        if self.expanded > MAX_EXPANDED:
            raise ParseError(
                f"decompression limit: gzip expands past {MAX_EXPANDED >> 30} GiB; "
                "split the run or upload it uncompressed"
            )
        if self.expanded > RATIO_FLOOR and self.expanded > MAX_RATIO * max(self.bytes_read(), 1):
            raise ParseError(
                f"decompression limit: gzip expands more than {MAX_RATIO}:1 "
                "(real k6 and Locust output compresses about 25:1); refusing a likely gzip bomb"
            )

    def bytes_read(self) -> int:
        """On-disk bytes consumed (compressed bytes for gzip)."""
        try:
            return self.raw.tell()
        except (OSError, ValueError):
            return self.total

    def close(self) -> None:
        if self.stream is not self.raw:
            self.stream.close()
        self.raw.close()

    def __enter__(self) -> Source:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def read_head(path: str | os.PathLike, limit: int = 1 << 16) -> bytes:
    """The first `limit` decompressed bytes of a file (fewer if shorter)."""
    with Source(path) as src:
        out = b""
        while len(out) < limit:
            chunk = src.read(limit - len(out))
            if not chunk:
                break
            out += chunk
        return out


def read_all(path: str | os.PathLike, cap: int) -> bytes:
    """The whole decompressed file, refusing files larger than `cap` bytes."""
    with Source(path) as src:
        parts, size = [], 0
        while chunk := src.read():
            size += len(chunk)
            if size > cap:
                raise ParseError(f"file is larger than {cap // (1 << 20)} MiB")
            parts.append(chunk)
        return b"".join(parts)


class Ticker:
    """Calls a progress callback with the source's position at most every PROGRESS_EVERY_S,
    and always when told it is the end. Does nothing without a callback."""

    def __init__(self, progress: Progress | None, src: Source):
        self.progress, self.src = progress, src
        self._last = 0.0

    def __call__(self, lines: int, final: bool = False) -> None:
        if self.progress is None:
            return
        now = time.monotonic()
        if final or now - self._last >= PROGRESS_EVERY_S:
            self._last = now
            report(self.progress, self.src.bytes_read(), self.src.total, lines)


class LineReader:
    """Iterate over lists of complete lines (without b"\\n").

    After iteration, `tail` holds the bytes after the last newline (b"" when the file ends with
    a newline) and `lines` the number of complete lines yielded. `progress(bytes_read,
    total_bytes, lines)` is called at most every PROGRESS_EVERY_S seconds and once at the end.
    """

    def __init__(self, src: Source, progress: Progress | None = None):
        self.src = src
        self.progress = progress
        self._tick = Ticker(progress, src)
        self.tail = b""
        self.lines = 0

    def __iter__(self) -> Iterator[list[bytes]]:
        rest = self.src.read(CHUNK).removeprefix(b"\xef\xbb\xbf")  # a UTF-8 BOM is no content
        while chunk := self.src.read(CHUNK):
            batch = (rest + chunk).split(b"\n") if rest else chunk.split(b"\n")
            rest = batch.pop()
            if len(rest) > MAX_LINE:
                raise ParseError(
                    f"line longer than {MAX_LINE // (1 << 20)} MiB (not a k6/Locust result)",
                    self.lines + len(batch) + 1,
                )
            if batch:
                yield batch
                self.lines += len(batch)
            self._report(False)
        if b"\n" in rest:  # a file smaller than CHUNK: the loop above never ran
            batch = rest.split(b"\n")
            rest = batch.pop()
            yield batch
            self.lines += len(batch)
        self.tail = rest
        self._report(True)

    def _report(self, final: bool) -> None:
        self._tick(self.lines, final)
