"""Files only this account may read: the data dir (SQLite with sessions and password hashes,
the secret key, uploads, the cache) is 0700 and what we create in it 0600."""

from __future__ import annotations

import os
from pathlib import Path


def private_dir(path: Path) -> Path:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if path.stat().st_uid == os.getuid() and path.stat().st_mode & 0o077:
        path.chmod(0o700)  # made before this release, or by mkdir under another umask
    return path


def private_file(path: Path) -> Path:
    """Make ``path`` exist as 0600 before a library creates it with its own mode (SQLite uses
    0644 and its -wal and -shm files copy the database file's mode)."""
    fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
    os.close(fd)
    if path.stat().st_mode & 0o077:
        path.chmod(0o600)
    return path


def open_private(path: Path, mode: str = "wb"):
    """``open`` for a new file of ours, 0600 from its first byte."""
    return os.fdopen(os.open(path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600), mode)
