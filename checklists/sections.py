"""The live sections of the status page, rendered once per change for every viewer.

The process that makes a change renders the sections after commit and keeps them in the shared
cache (Redis in production, files under LAUNCHBOARD_DATA_DIR when embedded, so a CLI command's
rendering reaches the server); every open page is then sent only the sections that changed for
it. A consumer that finds nothing newer in the cache renders the sections itself.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass, field

from django.core.cache import caches
from django.template.loader import render_to_string

from .pages import page_context
from .selectors import board_of, launch_with_plan

log = logging.getLogger(__name__)
NAMES = (
    "verdict",
    "decision",
    "progress",
    "timeline",
    "suite",
    "live",
    "checklist",
    "risks",
    "signoffs",
    "uploads",
    "activity",
)
TEMPLATE = "launches/status.html"
TTL_S = 600


@dataclass(frozen=True)
class Sections:
    launch_id: int
    version: int
    verdict: str
    rendered_at: float
    html: dict = field(default_factory=dict)
    digests: dict = field(default_factory=dict)
    state: dict = field(default_factory=dict)  # readiness statuses, remembered after a change


def _key(launch_id: int) -> str:
    return f"lb:sections:{launch_id}:latest"


def render_sections(launch_id: int) -> Sections:
    """Evaluate the launch and render every live section (no viewer: controls for all roles
    are in the HTML, hidden by the page unless the viewer may use them)."""
    from .services import readiness_state

    launch = launch_with_plan(pk=launch_id)
    board = board_of(launch)
    context = page_context(board) | {"caps": [], "csrf_token": ""}
    html = {name: render_to_string(f"{TEMPLATE}#{name}", context) for name in NAMES}
    digests = {
        name: hashlib.blake2b(text.encode(), digest_size=12).hexdigest()
        for name, text in html.items()
    }
    return Sections(
        launch.pk,
        launch.version,
        board.readiness.verdict,
        time.time(),
        html,
        digests,
        readiness_state(board.readiness),
    )


def render_and_share(launch_id: int) -> Sections:
    """Render now and share with every process; a cache outage only costs a re-render."""
    sections = render_sections(launch_id)
    try:
        current = caches["sections"].get(_key(launch_id))
        if current is None or current.version <= sections.version:
            caches["sections"].set(_key(launch_id), sections, TTL_S)
    except Exception:
        log.warning("could not share rendered sections of launch %s", launch_id, exc_info=True)
    return sections


def shared_sections(launch_id: int) -> Sections | None:
    try:
        return caches["sections"].get(_key(launch_id))
    except Exception:
        log.warning("could not read shared sections of launch %s", launch_id, exc_info=True)
        return None
