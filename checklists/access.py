"""Who may see and do what. Reads: a public launch is open to anyone; otherwise a signed-in user.
(The people-and-trust work narrows this to members and roles.)"""

from __future__ import annotations

from django.http import Http404

from .models import ApiToken, Launch
from .tokens import digest_of


def can_read(request, launch: Launch) -> bool:
    return can_user_read(request.user, launch)


def can_user_read(user, launch: Launch) -> bool:
    return launch.visibility == Launch.Visibility.PUBLIC or user.is_authenticated


def capabilities(user, launch: Launch) -> list[str]:
    """What the page may offer this viewer; controls carry ``data-needs`` and stay hidden
    otherwise. The server checks every action again."""
    if not user.is_authenticated:
        return ["anonymous"]
    return ["signed-in", "edit"]


def readable_launch(request, slug: str) -> Launch:
    """The launch, or 404 — the same answer whether it is missing or hidden."""
    launch = Launch.objects.filter(slug=slug).first()
    if launch is None or not can_read(request, launch):
        raise Http404("No such launch")
    return launch


def bearer_token(request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


class TokenRefused(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


def check_token(plain: str, launch: Launch, scope: str) -> ApiToken:
    """The usable token for ``scope`` on ``launch``, or TokenRefused: 401 unknown, revoked or
    expired; 404 another launch's (no hint that this launch exists); 403 scope missing."""
    from .tokens import token_check

    token = ApiToken.objects.usable().filter(digest=digest_of(plain)).first()
    if token is None:
        raise TokenRefused(401, "the token is unknown, revoked or expired")
    if token.launch_id != launch.pk:
        raise TokenRefused(404, "no such launch")
    if token_check(plain, launch, scope) is None:
        raise TokenRefused(403, f"the token may not {ApiToken.Scope(scope).label.lower()}")
    return token
