"""Secrets never reach a log line: API tokens (``lb_...``, or any value of a token-like query
parameter), share-link secrets (``/s/<secret>/``) and notification unsubscribe tokens are cut
from every formatted record.

Installed on Django's console handler (settings.LOGGING) and on uvicorn's access logger
(asgi.py), which prints each request's path and query as received.
"""

from __future__ import annotations

import logging
import re

SECRET = re.compile(
    r"(?P<token>lb_[A-Za-z0-9_\-]{4,})"
    r"|(?P<share>/s/|/notifications/unsubscribe/)[^/?\s\"']+"
    r"|(?P<param>[?&](?:token|access_token|api_key|apikey|key)=)[^&\s\"']+",
    re.IGNORECASE,
)


def redact(text: str) -> str:
    def cut(m: re.Match) -> str:
        if m.group("token"):
            return "lb_[redacted]"
        return (m.group("share") or m.group("param")) + "[redacted]"

    return SECRET.sub(cut, text)


class RedactSecrets(logging.Filter):
    """Rewrites the record's message once, with its arguments merged in."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken record is the logging module's to report
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def install() -> None:
    """On the loggers that print request lines of servers we run (uvicorn, daphne)."""
    for name in ("uvicorn.access", "uvicorn.error", "daphne.server", "daphne.http_protocol"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactSecrets) for f in logger.filters):
            logger.addFilter(RedactSecrets())
