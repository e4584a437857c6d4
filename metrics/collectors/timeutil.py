"""Small time helpers shared by the collectors (all times are timezone-aware UTC)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def to_ns(moment: datetime) -> int:
    """Exact integer nanoseconds since the epoch (no float rounding)."""
    return (moment - EPOCH) // timedelta(microseconds=1) * 1000


def from_ms(ms: int | float) -> datetime:
    return EPOCH + timedelta(milliseconds=ms)


def as_utc(moment: datetime) -> datetime:
    """Normalise an aware datetime (boto3 returns tzlocal ones) to UTC."""
    return moment.astimezone(UTC)


def rfc3339(moment: datetime) -> str:
    """2026-11-27T03:00:00.123456Z, the form Flux time literals take."""
    return as_utc(moment).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
