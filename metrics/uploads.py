"""Uploads of result files: streamed to disk under a generated name, hashed on the way, and
stopped at the size limit. The client's file name is kept only as escaped metadata."""

from __future__ import annotations

import asyncio
import hashlib
import io
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, SkipFile, StopUpload

from launchboard.private import open_private, private_dir


class StoredUpload:
    """What the handler leaves behind for the view: a path on disk, its hash and size."""

    def __init__(self, path: Path, name: str, size: int, sha256: str):
        self.path, self.name, self.size, self.sha256 = path, name, size, sha256

    def close(self):  # Django closes request.FILES entries after the response
        pass


class SkipFiles(FileUploadHandler):
    """Reads a multipart body's fields and writes none of its files anywhere (the CSRF token of
    a form upload is read this way, before the request is allowed to store anything)."""

    def new_file(self, *args, **kwargs):
        raise SkipFile()

    def receive_data_chunk(self, raw_data, start):
        return None

    def file_complete(self, file_size):
        return None


class HashingUploadHandler(FileUploadHandler):
    """Writes the upload's one file (the field ``file``) to UPLOAD_DIR as it arrives; never
    keeps it in memory. Other file fields, and a second ``file``, are skipped unwritten."""

    def __init__(self, request=None, limit: int | None = None):
        super().__init__(request)
        self.limit = limit or settings.UPLOAD_MAX_BYTES
        self.too_large = False
        self._file = self._path = self._digest = None
        self._size = 0
        self._stored = False

    @property
    def received(self) -> int:
        """Bytes the request sent, kept or not (what a quota counts)."""
        try:
            declared = int(self.request.META.get("CONTENT_LENGTH") or 0) if self.request else 0
        except ValueError:
            declared = 0
        return max(declared, self._size)

    def new_file(self, field_name, *args, **kwargs):
        if field_name != "file" or self._stored:
            raise SkipFile()
        self._stored = True
        super().new_file(field_name, *args, **kwargs)
        private_dir(settings.UPLOAD_DIR)
        self._path = settings.UPLOAD_DIR / f"{uuid.uuid4().hex}.upload"
        self._file = open_private(self._path)
        self._digest, self._size = hashlib.sha256(), 0

    def receive_data_chunk(self, raw_data, start):
        self._size += len(raw_data)
        if self._size > self.limit:
            self.too_large = True
            self.upload_interrupted()
            raise StopUpload(connection_reset=True)
        self._file.write(raw_data)
        self._digest.update(raw_data)
        return None

    def file_complete(self, file_size):
        self._file.close()
        self._file = None  # complete: an "interrupted" later (a skipped last part) keeps it
        return StoredUpload(self._path, self.file_name or "", self._size, self._digest.hexdigest())

    def forget(self) -> None:
        """Remove the file this request stored (it was refused, or the parse failed)."""
        if self._file is not None:
            self._file.close()
            self._file = None
        if self._path is not None:
            self._path.unlink(missing_ok=True)

    def upload_interrupted(self):
        if self._file is not None:
            self._file.close()
            self._path.unlink(missing_ok=True)
            self._file = None


def discard(request) -> None:
    """Remove files a request stored but did not use (a refused upload)."""
    for item in request.FILES.values():
        if isinstance(item, StoredUpload):
            item.path.unlink(missing_ok=True)


# --- uploads parsed while they arrive ------------------------------------------------------------
# An API upload is written to disk by the web process and parsed by a worker at the same time:
# the worker follows the file as it grows (GrowingFile) until the web process marks it complete
# (a sibling file `<name>.done`) or abandons it (removes the file). The file system, not the
# database, because the worker asks many times a second and web and worker share the upload
# directory anyway (docker-compose: the `data` volume).
RECEIVING = "receiving:"  # sha256 of a run whose file is still arriving (the real one follows)
WAIT_S = 0.02  # how often a worker at the end of a growing file looks for more
STALLED_S = 60.0  # a file that stopped growing with no marker: its web process went away


def new_upload_path() -> Path:
    private_dir(settings.UPLOAD_DIR)
    return settings.UPLOAD_DIR / f"{uuid.uuid4().hex}.upload"


def mark_complete(path: Path) -> None:
    Path(f"{path}.done").touch()


def remove_markers(path: Path) -> None:
    Path(f"{path}.done").unlink(missing_ok=True)


class UploadStopped(Exception):
    """The upload a worker was following did not complete (its reason is the message)."""


class GrowingFile(io.RawIOBase):
    """A binary file being written by another process, read as if it were complete: at its
    current end, `read` waits until more arrives, the writer marks it complete (then the end
    is the end) or removes it (UploadStopped), or nothing happens for STALLED_S."""

    BEAT_S = 5.0

    def __init__(self, path: Path, total: int = 0, on_wait=None):
        super().__init__()
        self.path, self.total, self.on_wait = Path(path), total, on_wait
        self._beat_at = 0.0
        self.name = self.path.name
        try:
            self._file = self.path.open("rb")
        except FileNotFoundError:
            raise UploadStopped("the upload was abandoned before it could be parsed") from None
        self._done = Path(f"{path}.done")

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._file.seek(offset, whence)

    def tell(self) -> int:
        return self._file.tell()

    def readinto(self, buffer) -> int:
        waited_since = None
        while True:
            n = self._file.readinto(buffer)
            if n:
                return n
            if self._done.exists():
                n = self._file.readinto(buffer)  # written just before it was marked complete
                return n or 0
            if not self.path.exists():
                raise UploadStopped("the upload was abandoned")
            now = time.monotonic()
            waited_since = waited_since or now
            if now - waited_since > STALLED_S:
                raise UploadStopped(f"the upload stopped arriving for {STALLED_S:.0f} s")
            if self.on_wait is not None and now - self._beat_at > self.BEAT_S:
                self._beat_at = now
                self.on_wait()
            time.sleep(WAIT_S)

    def close(self) -> None:
        self._file.close()
        super().close()


class UploadWriter:
    """Writes an upload to disk and hashes it in a thread of its own (file writes and SHA-256
    run without the GIL), so the event loop that receives it only hands chunks over."""

    BUFFER = 1 << 20  # hand over about a megabyte at a time
    AHEAD = 8  # megabytes handed over and not yet written, at most

    def __init__(self, path: Path):
        self.path = path
        self.size = 0
        self._file = open_private(path)
        self._digest = hashlib.sha256()
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="upload-writer")
        self._pending: list = []
        self._buffer: list[bytes] = []
        self._buffered = 0

    async def write(self, data: bytes) -> None:
        self.size += len(data)
        self._buffer.append(data)
        self._buffered += len(data)
        if self._buffered >= self.BUFFER:
            await self._hand_over()

    async def flush(self) -> None:
        """Everything handed over so far is on disk (visible to a worker following it)."""
        await self._hand_over()
        await asyncio.gather(*self._pending)
        self._pending.clear()

    async def close(self) -> str:
        """Flush and close; the SHA-256 of everything written."""
        await self.flush()
        await asyncio.get_running_loop().run_in_executor(self._pool, self._file.close)
        self._pool.shutdown(wait=False)
        return self._digest.hexdigest()

    def discard(self) -> None:
        self._pool.shutdown(wait=True)
        self._file.close()
        self.path.unlink(missing_ok=True)

    async def _hand_over(self) -> None:
        if not self._buffer:
            return
        data = b"".join(self._buffer)
        self._buffer, self._buffered = [], 0
        loop = asyncio.get_running_loop()
        self._pending.append(loop.run_in_executor(self._pool, self._write, data))
        if len(self._pending) >= self.AHEAD:
            await self._pending.pop(0)

    def _write(self, data: bytes) -> None:
        self._file.write(data)
        self._file.flush()  # the worker reads what is in the file, not in our buffer
        self._digest.update(data)
