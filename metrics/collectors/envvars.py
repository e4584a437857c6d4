"""Reading the environment variables a source config names, and showing URLs without secrets."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

from .types import SourceError


def env_value(env: Mapping[str, str], name: str | None) -> str | None:
    """The variable's value, or None when it is unset or blank."""
    if not name:
        return None
    value = env.get(name)
    if value is None or not value.strip():
        return None
    return value.strip()


def display_url(url: str) -> str:
    """scheme://host:port/path: what a message may show (no user:password@, no query)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:  # an IPv6 literal
        host = f"[{host}]"
    _, port = _port(parts)
    port_text = f":{port}" if port else ""
    return f"{parts.scheme}://{host}{port_text}{parts.path.rstrip('/')}"


def _port(parts) -> tuple[bool, int | None]:
    """(valid, port): urlsplit raises only when .port is read, for "host:abc"."""
    try:
        return True, parts.port
    except ValueError:
        return False, None


def base_url(url: str, variable: str, what: str) -> str:
    """Check that `url` (from `variable`) is an http(s) URL and return it without a trailing /.

    Raises SourceError("config") naming the variable, never the value (it may hold a password).
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or not _port(parts)[0]:
        raise SourceError("config", f"{variable} must be an http:// or https:// URL of {what}")
    if parts.query or parts.fragment:
        raise SourceError("config", f"{variable} must be a plain URL of {what}, without ?query")
    return url.rstrip("/")
