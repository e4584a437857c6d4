"""Uploads of result files: streamed to disk under a generated name, hashed on the way, and
stopped at the size limit. The client's file name is kept only as escaped metadata."""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopUpload


class StoredUpload:
    """What the handler leaves behind for the view: a path on disk, its hash and size."""

    def __init__(self, path: Path, name: str, size: int, sha256: str):
        self.path, self.name, self.size, self.sha256 = path, name, size, sha256

    def close(self):  # Django closes request.FILES entries after the response
        pass


class HashingUploadHandler(FileUploadHandler):
    """Writes each uploaded file to UPLOAD_DIR as it arrives; never keeps it in memory."""

    def __init__(self, request=None, limit: int | None = None):
        super().__init__(request)
        self.limit = limit or settings.UPLOAD_MAX_BYTES
        self.too_large = False
        self._file = self._path = self._digest = None
        self._size = 0

    @property
    def received(self) -> int:
        """Bytes of the file received so far (kept or not)."""
        return self._size

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        settings.UPLOAD_DIR.mkdir(parents=True, exist_ok=True)
        self._path = settings.UPLOAD_DIR / f"{uuid.uuid4().hex}.upload"
        self._file = self._path.open("wb")
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
        return StoredUpload(self._path, self.file_name or "", self._size, self._digest.hexdigest())

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
