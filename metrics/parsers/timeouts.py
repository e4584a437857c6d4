"""Which failed requests were timeouts, for k6 error codes and Locust failure messages.

k6 (lib/netext/httpext/error_codes.go) counts as timeouts:
  1050 request timeout      - no complete response within the request's `timeout`
  1211 dial timeout         - TCP connect did not complete in time
  1408 HTTP 408             - the server said the request timed out
  1504 HTTP 504             - a gateway/load balancer timed out waiting for the upstream
and any other error code whose `error` tag says "timeout"/"timed out" (labelled
"<code> timeout (other)"). Connection refused (1212) and resets (1220) are not timeouts.

Locust failure messages count as timeouts when they name ConnectTimeout, ReadTimeout,
Timeout/TimeoutError, "timed out" or a 408/504 status.
"""

from __future__ import annotations

import re

K6_TIMEOUT_CODES = {
    "1050": "1050 request timeout",
    "1211": "1211 dial timeout",
    "1408": "1408 HTTP 408 request timeout",
    "1504": "1504 HTTP 504 gateway timeout",
}
_TIMEOUT_WORDS = re.compile(r"time(?:d)?[\s_-]?out", re.IGNORECASE)
_LOCUST_PATTERNS = [
    (re.compile(r"ConnectTimeout", re.I), "ConnectTimeout"),
    (re.compile(r"ReadTimeout|Read timed out", re.I), "ReadTimeout"),
    (re.compile(r"\b504 Server Error|Gateway Time-?out", re.I), "HTTP 504 gateway timeout"),
    (re.compile(r"\b408 Client Error|Request Time-?out", re.I), "HTTP 408 request timeout"),
    (re.compile(r"TimeoutError|socket\.timeout|\bTimeout\b", re.I), "Timeout"),
    (re.compile(r"timed out", re.I), "timed out"),
]


def k6_timeout_label(error_code: str | None, error: str | None) -> str | None:
    """Breakdown label when a k6 request with these tags was a timeout, else None."""
    if error_code in K6_TIMEOUT_CODES:
        return K6_TIMEOUT_CODES[error_code]
    if error and _TIMEOUT_WORDS.search(error):
        return f"{error_code or 'no code'} timeout (other)"
    return None


def locust_timeout_label(message: str) -> str | None:
    """Breakdown label when a Locust failure message describes a timeout, else None."""
    for pattern, label in _LOCUST_PATTERNS:
        if pattern.search(message):
            return label
    return None
