"""People of a launch for tests: accounts with a password and their roles, granted through the
service (so each grant is an Event, as on the Members page)."""

from __future__ import annotations

from django.contrib.auth import get_user_model

from checklists.core.services import membership_grant

PASSWORD = "pw-Launch-2025"


def members(launch, *specs: tuple[str, str, str]) -> dict:
    """{username: user} for each (username, role, sign-off role) given."""
    User = get_user_model()
    made = {}
    for name, role, signoff in specs:
        made[name] = User.objects.create_user(name, password=PASSWORD)
        membership_grant(launch, made[name], role, signoff, actor_name="test")
    return made
