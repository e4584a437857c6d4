"""API tokens: made, shown once, stored as SHA-256, checked against launch and scope."""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import timedelta
from urllib.parse import parse_qsl

from django.db import transaction
from django.utils import timezone

from checklists.core.events import append_event
from checklists.models import ApiToken, Launch

TOKEN_PREFIX = "lb_"  # noqa: S105 - marks the string as a Launchboard token
security = logging.getLogger("launchboard.security")


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


def token_revoke(token: ApiToken, *, actor_name: str = "", why: str = "") -> bool:
    with transaction.atomic():
        revoked = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        if revoked:
            append_event(
                token.launch,
                kind="token.revoked",
                subject=f"token:{token.prefix}",
                summary=f"API token {token.name!r} ({token.prefix}…) revoked{why}",
                actor_name=actor_name or "system",
                before={"name": token.name, "prefix": token.prefix},
                after={"created_by": token.created_by, "why": why.lstrip(": ")},
            )
    return bool(revoked)


def revoke_leaked(query: str) -> list[ApiToken]:
    """Tokens sent in a URL are in somebody's logs (proxies, browsers, shells) and no longer
    secret: revoke each one that is live, and tell its launch (the activity feed names the
    token and who made it) and the security log."""
    if TOKEN_PREFIX not in query:
        return []
    leaked = {v for _, v in parse_qsl(query, keep_blank_values=True) if v.startswith(TOKEN_PREFIX)}
    found = list(
        ApiToken.objects.usable()
        .filter(digest__in=[digest_of(v) for v in leaked])
        .select_related("launch")
    )
    for token in found:
        token_revoke(
            token,
            actor_name="system",
            why=": it was sent in a URL, which logs keep; make a new one and send it as "
            "Authorization: Bearer",
        )
        security.warning(
            "API token %s… of %s revoked: it was sent in a URL (made by %s)",
            token.prefix,
            token.launch.slug,
            token.created_by or "unknown",
        )
    return found


class TokensInUrls:
    """Middleware: any request whose query carries a live token revokes it (the view then
    refuses the request as it always did)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        query = request.META.get("QUERY_STRING", "")
        if TOKEN_PREFIX in query:
            revoke_leaked(query)
        return self.get_response(request)
