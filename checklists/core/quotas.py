"""Per-token upload limits (reliability.md U12): a CI job stuck in a retry loop must not fill the
disk or the worker queue. Counted in the token's own row, so every web process shares them and a
restart forgets nothing."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.cache import caches
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from checklists.models import ApiToken


@dataclass(frozen=True)
class Refusal:
    message: str
    retry_after: int  # seconds


def upload_admit(token: ApiToken) -> Refusal | None:
    """Count one upload against the token, or say why it must wait. Called before the body is
    read, so a refused upload costs no disk and no parse."""
    now = timezone.now()
    minute = now.replace(second=0, microsecond=0)
    today = now.date()
    with transaction.atomic():
        row = (
            ApiToken.objects.select_for_update()
            .only("upload_minute", "uploads_this_minute", "upload_day", "upload_bytes_today")
            .get(pk=token.pk)
        )
        count = row.uploads_this_minute if row.upload_minute == minute else 0
        used = row.upload_bytes_today if row.upload_day == today else 0
        if count >= settings.TOKEN_UPLOADS_PER_MINUTE:
            wait = max(1, 60 - now.second)
            return Refusal(
                f"this token may upload {settings.TOKEN_UPLOADS_PER_MINUTE} files a minute; "
                f"try again in {wait} s",
                wait,
            )
        if used >= settings.TOKEN_UPLOAD_BYTES_PER_DAY:
            midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
            wait = max(1, math.ceil((midnight - now).total_seconds()))
            return Refusal(
                f"this token has uploaded its {settings.TOKEN_UPLOAD_BYTES_PER_DAY:,} bytes "
                "for today (UTC); ask a launch admin for another token or wait until midnight UTC",
                wait,
            )
        ApiToken.objects.filter(pk=row.pk).update(
            upload_minute=minute,
            uploads_this_minute=count + 1,
            upload_day=today,
            upload_bytes_today=used,
        )
    return None


def form_upload_admit(user) -> Refusal | None:
    """Count one form upload against the person, or say how long to wait: a fixed one-minute
    window in the shared cache (Redis in production), so every web process counts together."""
    now = timezone.now()
    key = f"lb:form-uploads:{user.pk}:{now:%Y%m%d%H%M}"
    cache = caches["sections"]
    try:
        cache.add(key, 0, 120)
        count = cache.incr(key)
    except Exception:  # no shared cache: the per-token and size limits still hold
        return None
    if count > settings.USER_UPLOADS_PER_MINUTE:
        wait = max(1, 60 - now.second)
        return Refusal(
            f"you may upload {settings.USER_UPLOADS_PER_MINUTE} files a minute; "
            f"try again in {wait} s",
            wait,
        )
    return None


def upload_charge(token: ApiToken, size: int) -> None:
    """Add the bytes an upload sent (kept or not) to today's total."""
    if size > 0:
        ApiToken.objects.filter(pk=token.pk, upload_day=timezone.now().date()).update(
            upload_bytes_today=F("upload_bytes_today") + size
        )
