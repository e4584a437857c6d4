"""Who may see and do what on a launch.

- read: anyone on a public launch; on a private one, its members, site admins, and holders of
  a (revocable) share link opened in their browser session.
- edit (tick, move tasks, upload and invalidate runs): engineers and launch admins.
- sign:<role> and waive:<role>: approvers holding that sign-off role, and nobody else — not
  even a site admin signs for a role they do not hold.
- admin (members, share links, API tokens): launch admins and site admins.

Every check answers 404 for a launch the viewer may not read, so ids and slugs reveal nothing.
"""

from __future__ import annotations

import logging
import time

from django.core.cache import caches
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404
from django.utils import timezone

from checklists.core.tokens import digest_of
from checklists.models import ApiToken, Launch, Membership, ShareLink

security = logging.getLogger("launchboard.security")
SHARE_SESSION_KEY = "launchboard.shares"
ACCESS_KEY = "lb:access-generation"


def access_changed() -> None:
    """Someone's rights may have shrunk (a role removed, a share link revoked, a sign-out, an
    account disabled): after commit, every server process rechecks the viewers of its open
    private pages on its watcher's next look (0.5 s), instead of on its periodic recheck."""

    def bump():
        try:  # a new value each time: set() is atomic on every cache backend, incr() is not
            caches["sections"].set(ACCESS_KEY, time.time_ns(), None)
        except Exception:  # the periodic recheck still closes the pages, only later
            security.warning("could not announce an access change", exc_info=True)

    transaction.on_commit(bump)


def access_generation():
    """What access_changed() last wrote (None if nothing yet, or the cache is away)."""
    try:
        return caches["sections"].get(ACCESS_KEY)
    except Exception:
        return None


def _memberships(user, launch: Launch) -> list[Membership]:
    if not user.is_authenticated:
        return []
    cache = getattr(user, "_launch_memberships", None)
    if cache is None:
        cache = user._launch_memberships = {}
    if launch.pk not in cache:
        cache[launch.pk] = list(Membership.objects.filter(user=user, launch=launch))
    return cache[launch.pk]


def _shared(session, launch: Launch) -> bool:
    if session is None:
        return False
    link_ids = (session.get(SHARE_SESSION_KEY) or {}).get(str(launch.pk), [])
    if not link_ids:
        return False
    return ShareLink.objects.filter(
        pk__in=link_ids, launch=launch, revoked_at__isnull=True
    ).exists()


def approver_roles(user, launch: Launch) -> set[str]:
    """The sign-off roles ``user`` holds on ``launch`` now (read fresh: sign-off and waivers
    decide on it)."""
    return set(
        Membership.objects.filter(
            launch=launch, user=user, role=Membership.Role.APPROVER
        ).values_list("signoff_role", flat=True)
    )


def permissions(user, launch: Launch, session=None) -> set[str]:
    perms: set[str] = set()
    if launch.visibility == Launch.Visibility.PUBLIC or _shared(session, launch):
        perms.add("read")
    if user.is_authenticated and (user.is_staff or user.is_superuser):
        perms |= {"read", "edit", "admin"}
    for m in _memberships(user, launch):
        perms.add("read")
        if m.role in (Membership.Role.ENGINEER, Membership.Role.ADMIN):
            perms.add("edit")
        if m.role == Membership.Role.ADMIN:
            perms.add("admin")
        if m.role == Membership.Role.APPROVER:
            perms |= {f"sign:{m.signoff_role}", f"waive:{m.signoff_role}"}
    return perms


def can_user_read(user, launch: Launch, session=None) -> bool:
    return "read" in permissions(user, launch, session)


def can_read(request, launch: Launch) -> bool:
    return can_user_read(request.user, launch, getattr(request, "session", None))


def can(request, launch: Launch, permission: str) -> bool:
    allowed = permission in permissions(request.user, launch, getattr(request, "session", None))
    if not allowed:
        security.warning(
            "denied %s on launch %s to user %s from %s",
            permission,
            launch.slug,
            request.user.pk if request.user.is_authenticated else "anonymous",
            request.META.get("REMOTE_ADDR"),
        )
    return allowed


def capabilities(user, launch: Launch, session=None) -> list[str]:
    """What the page may offer this viewer; controls carry ``data-needs`` and stay hidden
    otherwise. The server checks every action again."""
    caps = sorted(permissions(user, launch, session) - {"read"})
    caps.append("signed-in" if user.is_authenticated else "anonymous")
    return caps


def readable_launch(request, slug: str) -> Launch:
    """The launch, or 404 — the same answer whether it is missing or hidden."""
    launch = Launch.objects.filter(slug=slug).first()
    if launch is None or not can_read(request, launch):
        raise Http404("No such launch")
    return launch


def launch_for(request, slug: str, permission: str) -> Launch:
    """The launch if the viewer holds ``permission`` on it; 404 if they may not even read it,
    PermissionDenied (403) otherwise."""
    launch = readable_launch(request, slug)
    if not can(request, launch, permission):
        raise PermissionDenied(f"You may not do this on {launch.name}.")
    return launch


def grant_share(session, link: ShareLink) -> None:
    shares = dict(session.get(SHARE_SESSION_KEY) or {})
    ids = set(shares.get(str(link.launch_id), []))
    shares[str(link.launch_id)] = sorted(ids | {link.pk})
    session[SHARE_SESSION_KEY] = shares


def share_link_for(secret: str) -> ShareLink | None:
    return ShareLink.objects.filter(digest=digest_of(secret), revoked_at__isnull=True).first()


def bearer_token(request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


class TokenRefused(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


def check_token(plain: str, launch: Launch | None, scope: str, noun: str = "launch") -> ApiToken:
    """The usable token for ``scope`` on ``launch``, or TokenRefused: 401 unknown, revoked or
    expired, whether or not the launch exists; 404 a missing launch or another launch's (the
    same answer: no hint that a private launch exists); 403 scope missing."""
    token = ApiToken.objects.usable().filter(digest=digest_of(plain)).first()
    if token is None:
        security.warning("refused an unknown, revoked or expired API token")
        raise TokenRefused(401, "the token is unknown, revoked or expired")
    if launch is None or token.launch_id != launch.pk:
        security.warning(
            "refused token %s… of launch %s on %s",
            token.prefix,
            token.launch_id,
            launch.slug if launch else "a missing launch",
        )
        raise TokenRefused(404, f"no such {noun}")
    if scope not in token.scopes:
        security.warning("refused token %s… without scope %s", token.prefix, scope)
        raise TokenRefused(403, f"the token may not {ApiToken.Scope(scope).label.lower()}")
    now = timezone.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token
