"""Serve canned CloudWatch answers to a real boto3 client through botocore's before-send hook.

The hook returns a response instead of sending the request; botocore's parser, retry handler
and our code then run as they would against AWS (reliability.md §3.1 T7's recipe).

Which wire protocol: CloudWatch's model lists ['smithy-rpc-v2-cbor', 'json', 'query'], and
botocore 1.44.8 picks by its own priority (PRIORITY_ORDERED_SUPPORTED_PROTOCOLS puts 'json'
first), so it actually speaks awsJson1_0 to CloudWatch, not CBOR. The replay therefore answers
in whatever the request was sent in: JSON for application/x-amz-json-1.0, CBOR (a small RFC 8949
encoder below, tag 1 for timestamps) for application/cbor. Either way an error carries
`x-amzn-query-error: Code;Sender`, which is where botocore reads CloudWatch's error code from
(an XML error body is not read: botocore then reports the HTTP status as the code).
"""

from __future__ import annotations

import json
import struct
from datetime import datetime
from pathlib import Path

from botocore.awsrequest import AWSResponse

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "cloudwatch"
CBOR_HEADERS = {"Content-Type": "application/cbor", "smithy-protocol": "rpc-v2-cbor"}
JSON_HEADERS = {"Content-Type": "application/x-amz-json-1.0"}


def _head(major: int, n: int) -> bytes:
    if n < 24:
        return bytes([major << 5 | n])
    for extra, size, fmt in ((24, 1, ">B"), (25, 2, ">H"), (26, 4, ">I"), (27, 8, ">Q")):
        if n < 1 << (8 * size):
            return bytes([major << 5 | extra]) + struct.pack(fmt, n)
    raise ValueError("integer too large for CBOR")


def cbor(value: object) -> bytes:
    """Encode JSON-like values and datetimes (as tag 1, epoch seconds) in CBOR."""
    if value is None:
        return b"\xf6"
    if isinstance(value, bool):
        return b"\xf5" if value else b"\xf4"
    if isinstance(value, int):
        return _head(0, value) if value >= 0 else _head(1, -1 - value)
    if isinstance(value, float):
        return b"\xfb" + struct.pack(">d", value)
    if isinstance(value, datetime):
        return b"\xc1" + cbor(value.timestamp())
    if isinstance(value, str):
        data = value.encode()
        return _head(3, len(data)) + data
    if isinstance(value, bytes):
        return _head(2, len(value)) + value
    if isinstance(value, list | tuple):
        return _head(4, len(value)) + b"".join(cbor(item) for item in value)
    if isinstance(value, dict):
        return _head(5, len(value)) + b"".join(cbor(k) + cbor(v) for k, v in value.items())
    raise TypeError(f"cannot encode {type(value).__name__}")


class _Raw:
    """The minimal raw body AWSResponse reads."""

    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_kwargs):
        yield self.body


def _speaks_cbor(request) -> bool:
    return "cbor" in str(request.headers.get("Content-Type", ""))


def _json(value: object) -> bytes:
    """awsJson1_0 body: timestamps as epoch seconds."""
    return json.dumps(value, default=lambda v: v.timestamp()).encode()


def response(request, status: int, body: dict, headers: dict | None = None) -> AWSResponse:
    """An answer to `request` in the protocol it was sent in."""
    if _speaks_cbor(request):
        base, data = CBOR_HEADERS, cbor(body)
    else:
        base, data = JSON_HEADERS, _json(body)
    all_headers = {**base, "x-amzn-RequestId": "replayed-request-id", **(headers or {})}
    return AWSResponse(request.url, status, all_headers, _Raw(data))


def error_response(request, status: int, code: str, message: str, sender: bool = True):
    """An AWS error as CloudWatch sends it (query-compatible error code in a header)."""
    body = {"__type": f"com.amazonaws.cloudwatch#{code}", "message": message}
    fault = "Sender" if sender else "Receiver"
    return response(request, status, body, {"x-amzn-query-error": f"{code};{fault}"})


def load(name: str) -> dict:
    """A fixture from tests/fixtures/cloudwatch/, ISO timestamps turned into datetimes."""
    return _times(json.loads((FIXTURES / name).read_text()))


def _times(value: object, key: str = "") -> object:
    if isinstance(value, dict):
        return {k: _times(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_times(v, key) for v in value]
    if isinstance(value, str) and key.endswith(("Timestamp", "Timestamps")):
        return datetime.fromisoformat(value)
    return value


class Replay:
    """A before-send hook: answers attempt n with `answers[n]` (a callable taking the request
    and returning an AWSResponse, or None to let the request through) and records requests."""

    def __init__(self, answers: list) -> None:
        self.answers = list(answers)
        self.requests: list = []
        self.params: list[dict] = []  # what our code passed to each call (not each attempt)

    def __call__(self, request, **_kwargs):
        self.requests.append(request)
        index = len(self.requests) - 1
        if index < len(self.answers) and self.answers[index] is not None:
            return self.answers[index](request)
        return None

    def attach(self, client, operation: str) -> None:
        client.meta.events.register_first(f"before-send.cloudwatch.{operation}", self)
        client.meta.events.register(
            f"before-parameter-build.cloudwatch.{operation}", self._record_params
        )

    def _record_params(self, params, **_kwargs):
        self.params.append(dict(params))


def ok_page(body: dict):
    return lambda request: response(request, 200, body)


def throttle():
    """reliability.md T7: HTTP 400 with x-amzn-query-error Throttling;Sender (and a body, which
    botocore's CBOR error parser needs; its JSON one would accept an empty body too)."""
    return lambda request: error_response(request, 400, "Throttling", "Rate exceeded")
