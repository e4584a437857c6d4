"""Real result files, re-dated: the same k6 run as if it had been taken later."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path


def shifted(path: Path, out_dir: Path, days: int) -> Path:
    """A copy of a k6 NDJSON file with every timestamp moved ``days`` later."""

    def later(match):
        stamp = dt.datetime.fromisoformat(match.group(1)) + dt.timedelta(days=days)
        return f'"time":"{stamp.isoformat()}"'

    out = Path(out_dir) / f"{Path(path).stem}-plus{days}d.ndjson"
    out.write_text(re.sub(r'"time":"([^"]+)"', later, Path(path).read_text()))
    return out
