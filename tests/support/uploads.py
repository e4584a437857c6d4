"""Upload a result file to a running server as CI does: multipart POST with a bearer token."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path


def post_run(base_url: str, token: str, path: Path, *, test: str = "peak") -> tuple[int, dict]:
    """(HTTP status, JSON body) of POST /api/launches/whatsapp-saas/runs/."""
    boundary = "launchboard-test-boundary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="test"\r\n\r\n{test}\r\n'
            f"--{boundary}\r\nContent-Disposition: form-data; "
            f'name="file"; filename="{path.name}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + path.read_bytes()
        + f"\r\n--{boundary}--\r\n".encode()
    )
    request = urllib.request.Request(
        f"{base_url}/api/launches/whatsapp-saas/runs/",
        data=body,
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": f"multipart/form-data; boundary={boundary}",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")
