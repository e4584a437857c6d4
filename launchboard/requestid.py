"""A request id on every response (`X-Request-ID`), every log line and every error page, so a
person who hit an error can quote it and whoever runs Launchboard can find the log lines.

Generated here, never taken from the request (a client-chosen id could forge log lines).
"""

from __future__ import annotations

import contextvars
import logging
import time
import uuid

from asgiref.sync import iscoroutinefunction
from django.utils.decorators import sync_and_async_middleware

_current: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
HEADER = "X-Request-ID"


def current() -> str:
    """The id of the request being handled ("-" outside a request: a worker, a command)."""
    return _current.get()


@sync_and_async_middleware
def request_id_middleware(get_response):
    if iscoroutinefunction(get_response):

        async def middleware(request):
            token = _current.set(request_id := uuid.uuid4().hex[:16])
            request.id = request_id
            try:
                response = await get_response(request)
            finally:
                _current.reset(token)
            response[HEADER] = request_id
            return response

    else:

        def middleware(request):
            token = _current.set(request_id := uuid.uuid4().hex[:16])
            request.id = request_id
            try:
                response = get_response(request)
            finally:
                _current.reset(token)
            response[HEADER] = request_id
            return response

    return middleware


class RequestContextFilter(logging.Filter):
    """Adds `request_id` and `user_id` (when Django's request logger passes the request) to
    every record, so the formatter can always name them."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current()
        request = getattr(record, "request", None)
        user = getattr(request, "user", None) if request is not None else None
        record.user_id = getattr(user, "pk", None) or "-"
        return True


class UTCFormatter(logging.Formatter):
    converter = time.gmtime

    def formatTime(self, record, datefmt=None):
        return super().formatTime(record, datefmt or "%Y-%m-%dT%H:%M:%S") + "Z"
