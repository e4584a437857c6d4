"""Which version of a launch a request asks for: ``?version=N`` or ``?at=<ISO time>``."""

from __future__ import annotations

from datetime import UTC, datetime

from checklists.core import history


class BadQuestion(ValueError):
    """A question about the past that cannot be answered; ``status`` is 400 or 404."""

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.status = status


def asked_version(params, launch) -> int | None:
    """The version asked for (None: the current one); BadQuestion says what is wrong."""
    asked, at = params.get("version"), params.get("at")
    if asked is not None and at is not None:
        raise BadQuestion("ask for a version or a time, not both", 400)
    if at is not None:
        when = parse_time(at)
        if when is None:
            raise BadQuestion(f"at={at!r} is not an ISO 8601 time (e.g. 2025-01-19T14:05:00Z)", 400)
        version = history.version_at(launch, when)
        if version == 0:
            raise BadQuestion(f"the launch did not exist yet at {when.isoformat()}", 404)
        return version
    if asked is None:
        return None
    if not asked.isdigit() or int(asked) < 1:
        raise BadQuestion("version must be a whole number from 1", 400)
    if int(asked) > launch.version:
        raise BadQuestion(
            f"version {asked} does not exist yet: the launch is at version {launch.version}", 404
        )
    return int(asked)


def parse_time(text: str) -> datetime | None:
    """An ISO 8601 time; one without a zone is UTC, as the board shows."""
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)
