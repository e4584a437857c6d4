"""Sign-ins in the security log (failures are also counted by django-axes)."""

import logging

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

security = logging.getLogger("launchboard.security")


def _address(request) -> str:
    return request.META.get("REMOTE_ADDR", "?") if request is not None else "?"


@receiver(user_logged_in)
def logged_in(sender, request, user, **kwargs):
    security.info("sign-in of user %s from %s", user.pk, _address(request))


@receiver(user_logged_out)
def logged_out(sender, request, user, **kwargs):
    security.info("sign-out of user %s", getattr(user, "pk", None))


@receiver(user_login_failed)
def login_failed(sender, credentials, request=None, **kwargs):
    name = str(credentials.get("username", ""))[:150]  # never the password
    security.warning("failed sign-in as %r from %s", name, _address(request))
