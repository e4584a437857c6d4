"""What makes the audit trail hard to rewrite: keyed links and checkpoints outside the
database (the proof ``verify_audit`` gives is in verification.py).

1. Each event's hash is an HMAC with a key the database does not hold (settings.AUDIT_KEYS,
   from the environment): someone who can edit rows cannot recompute the links. Each event
   names its key, so keys rotate without breaking old links; events from before keys existed
   (``key_id`` empty) keep their plain SHA-256, and no plain event may follow a keyed one.
2. The chain's head is kept outside the rows it covers: after every change a signed checkpoint
   (launch, version, hash) is appended to a file in the data dir and to the log. Deleting the
   newest events and lowering the launch's version no longer leaves a chain that looks intact.
3. The rows that decide the verdict are proved from the events: every sign-off, waiver and tick
   must be what an event recorded, and every recorded one must be there.
4. On PostgreSQL, TRUNCATE of these tables is refused by a trigger (migration 0008).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
from pathlib import Path

from django.conf import settings

from launchboard.private import private_dir

log = logging.getLogger("launchboard.audit")


def current_key() -> tuple[str, bytes]:
    key_id = next(iter(settings.AUDIT_KEYS))
    return key_id, settings.AUDIT_KEYS[key_id]


def mac(key_id: str, raw: bytes) -> str | None:
    """HMAC-SHA256 of ``raw`` with the named key; None for a key this deployment lacks."""
    key = settings.AUDIT_KEYS.get(key_id)
    if key is None:
        return None
    return hmac.new(key, raw, hashlib.sha256).hexdigest()


# --- checkpoints --------------------------------------------------------------------------------
def _checkpoint_mac(c: dict) -> str | None:
    raw = f"{c['launch']}|{c['genesis']}|{c['version']}|{c['hash']}|{c['at']}".encode()
    return mac(c["key"], raw)


def write_checkpoint(launch_id: int, genesis: str, version: int, event_hash: str, at: str):
    """Append a signed checkpoint of a launch's newest event (after its commit)."""
    key_id, _ = current_key()
    c = {"launch": launch_id, "genesis": genesis, "version": version, "hash": event_hash}
    c |= {"at": at, "key": key_id}
    c["mac"] = _checkpoint_mac(c)
    line = json.dumps(c, sort_keys=True) + "\n"
    log.info("checkpoint %s", line.strip())
    path: Path = settings.AUDIT_CHECKPOINTS
    private_dir(path.parent)
    # O_APPEND: lines from several processes never overwrite each other
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


def newest_checkpoint(launch_id: int, genesis: str) -> tuple[dict | None, list[str]]:
    """The highest-version checkpoint of this launch (its first event's hash tells it from a
    launch that had the same id in another database), and any forged lines seen."""
    path: Path = settings.AUDIT_CHECKPOINTS
    if not path.exists():
        return None, []
    best, forged = None, []
    with path.open() as lines:
        for number, line in enumerate(lines, 1):
            try:
                c = json.loads(line)
                if c["launch"] != launch_id or c["genesis"] != genesis:
                    continue
                expected = _checkpoint_mac(c)
            except (ValueError, KeyError, TypeError):
                continue  # a torn line from a crash: not a claim about anything
            if expected is None:
                forged.append(f"{path.name}:{number}: signed with unknown key {c['key']!r}")
            elif not hmac.compare_digest(expected, str(c.get("mac", ""))):
                forged.append(f"{path.name}:{number}: its signature does not match (altered)")
            elif best is None or c["version"] > best["version"]:
                best = c
    return best, forged
