"""API tokens: made, shown once, stored as SHA-256, checked against launch and scope."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from .events import append_event
from .models import ApiToken, Launch

TOKEN_PREFIX = "lb_"  # noqa: S105 - marks the string as a Launchboard token


def digest_of(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_create(
    launch: Launch,
    *,
    name: str,
    scopes: list[str],
    created_by: str = "",
    expires_in: timedelta | None = None,
) -> tuple[ApiToken, str]:
    """A new token; the plain token is returned here and never again."""
    unknown = set(scopes) - set(ApiToken.Scope.values)
    if unknown or not scopes:
        raise ValueError(f"scopes must be among {', '.join(ApiToken.Scope.values)}")
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        token = ApiToken.objects.create(
            launch=launch,
            name=name,
            prefix=plain[:10],
            digest=digest_of(plain),
            scopes=sorted(set(scopes)),
            created_by=created_by,
            expires_at=timezone.now() + expires_in if expires_in else None,
        )
        append_event(
            launch,
            kind="token.created",
            subject=f"token:{token.prefix}",
            summary=f"API token {name!r} ({token.prefix}…) made: {', '.join(token.scopes)}",
            actor_name=created_by or "system",
            after={"name": name, "prefix": token.prefix, "scopes": token.scopes,
                   "expires_at": token.expires_at},
        )  # fmt: skip
    return token, plain


def token_revoke(token: ApiToken, *, actor_name: str = "") -> None:
    with transaction.atomic():
        revoked = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        if revoked:
            append_event(
                token.launch,
                kind="token.revoked",
                subject=f"token:{token.prefix}",
                summary=f"API token {token.name!r} ({token.prefix}…) revoked",
                actor_name=actor_name or "system",
                before={"name": token.name, "prefix": token.prefix},
            )
