"""Turning transport failures and HTTP statuses into SourceError (InfluxDB 1.x and 2.x)."""

from __future__ import annotations

from urllib3 import exceptions as u3

from .types import SourceError

_GATEWAY = frozenset({502, 503, 504})


def transport_error(exc: Exception, what: str, budget_s: float) -> SourceError:
    """`what` names the server for a stakeholder, e.g. "InfluxDB at http://host:8086"."""
    if isinstance(exc, u3.MaxRetryError) and exc.reason is not None:
        exc = exc.reason
    detail = f"{type(exc).__name__}: {exc}"
    # NewConnectionError subclasses ConnectTimeoutError in urllib3 2.x: test it first.
    if isinstance(exc, u3.NewConnectionError | u3.ProtocolError):
        return SourceError("unreachable", f"{what} could not be reached", detail=detail)
    if isinstance(exc, u3.ConnectTimeoutError):
        message = f"{what} did not accept a connection within {budget_s:g} s"
        return SourceError("timeout", message, detail=detail)
    if isinstance(exc, u3.ReadTimeoutError | TimeoutError):
        return SourceError("timeout", f"{what} did not answer within {budget_s:g} s", detail=detail)
    if isinstance(exc, u3.SSLError):
        message = f"{what} failed the TLS handshake"
        return SourceError("unreachable", message, retryable=False, detail=detail)
    return SourceError("unreachable", f"{what} could not be reached", detail=detail)


def status_error(status: int, server_text: str, what: str) -> SourceError:
    """A non-2xx answer. `server_text` is the server's own error text (kept for logs)."""
    detail = f"HTTP {status}: {server_text[:300]}"
    if status in (401, 403):
        return SourceError("auth", f"{what} refused the credentials (HTTP {status})", detail=detail)
    if status == 404:
        return SourceError("not_found", f"{what} has nothing at that address", detail=detail)
    if status == 429:
        return SourceError("throttled", f"{what} asked us to slow down", detail=detail)
    if status in _GATEWAY:
        return SourceError("unreachable", f"{what} is unavailable (HTTP {status})", detail=detail)
    if 400 <= status < 500:
        message = f"{what} rejected the query (HTTP {status})"
        return SourceError("config", message, detail=detail)
    message = f"{what} failed with HTTP {status}"
    return SourceError("bad_response", message, retryable=status >= 500, detail=detail)
