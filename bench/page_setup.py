"""Signed-in engineers for the launch-day load test: N accounts with the engineer role on a
launch, and a session for each (made directly, so the load test does not spend seconds of CPU
hashing passwords at its start). Prints the session ids, comma-separated.

    python bench/page_setup.py SLUG N        (run from the checkout, with its settings)
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, os.getcwd())
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "launchboard.settings")

import django

django.setup()

from django.contrib.auth import (  # noqa: E402
    BACKEND_SESSION_KEY,
    HASH_SESSION_KEY,
    SESSION_KEY,
    get_user_model,
)
from django.contrib.sessions.backends.db import SessionStore  # noqa: E402

from checklists.core.services import membership_grant  # noqa: E402
from checklists.models import Launch  # noqa: E402


def main(slug: str, count: int) -> None:
    launch = Launch.objects.get(slug=slug)
    keys = []
    for i in range(count):
        user, created = get_user_model().objects.get_or_create(username=f"bench-engineer-{i}")
        if created:
            user.set_unusable_password()
            user.save()
        membership_grant(launch, user, "engineer", actor_name="bench")
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        keys.append(session.session_key)
    print(",".join(keys))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
