"""Accounts without the Django admin: a launch admin (or the ``grant --create`` command) invites
a person by name and email; the person sets their own password through a one-time link.

The link is Django's password-reset token: it is bound to the account's password hash and last
sign-in, so it stops working the moment it is used (or a newer password is set) and after
``PASSWORD_RESET_TIMEOUT``. Nobody but the invitee ever knows the password.
"""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

security = logging.getLogger("launchboard.security")


class InviteRefused(Exception):
    """A name or address that cannot make an account; the message says why, in plain words."""


@dataclass(frozen=True)
class Invitation:
    user: object
    link: str  # absolute URL of the one-time set-password link
    emailed: bool  # sent by email (then it is not shown)
    days: int  # how long the link works


def set_password_path(user) -> str:
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    return reverse("password_reset_confirm", kwargs={"uidb64": uid, "token": token})


def link_days() -> int:
    return max(1, round(settings.PASSWORD_RESET_TIMEOUT / 86400))


def email_configured() -> bool:
    return bool(settings.EMAIL_CONFIGURED)


def invite(username: str, email: str = "", *, base_url: str, by: str = "") -> Invitation:
    """Make the account (no usable password yet) and its one-time link; email the link when
    email is configured and an address is given, else the caller shows it once."""
    User = get_user_model()
    username, email = username.strip(), email.strip()
    user = User(username=username, email=email)
    user.set_unusable_password()
    try:
        user.full_clean(exclude=["password"])  # the username's rules, the address's form
    except ValidationError as exc:
        messages = exc.message_dict
        if "username" in messages and User.objects.filter(username=username).exists():
            raise InviteRefused(f"There is already an account {username!r}.") from None
        field, [first, *_] = next(iter(messages.items()))
        raise InviteRefused(f"{field.capitalize()}: {first}") from None
    user.save()
    security.info("account %s invited by %s", user.pk, by or "-")
    return reissue(user, base_url=base_url)


def reissue(user, *, base_url: str) -> Invitation:
    """A fresh one-time link for an account that has not set its password (a lost invitation).
    Earlier links keep working until they expire or one of them is used."""
    link = base_url.rstrip("/") + set_password_path(user)
    emailed = False
    if user.email and email_configured():
        try:
            send_mail(
                "You are invited to Launchboard",
                f"Hello {user.get_username()},\n\nSet your password and sign in:\n{link}\n\n"
                f"The link works once, for {link_days()} days.\n",
                None,
                [user.email],
            )
        except (OSError, smtplib.SMTPException) as exc:
            security.warning("invitation mail to account %s failed: %s", user.pk, exc)
            raise InviteRefused(
                f"The invitation could not be emailed ({exc.__class__.__name__}); nothing was "
                "changed. Leave the address out to get the link here."
            ) from None
        emailed = True
    return Invitation(user=user, link=link, emailed=emailed, days=link_days())
