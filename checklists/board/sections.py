"""A launch as every reader sees it, rendered once per change.

After each recorded change (and each redraw for new live data) the process that made it
evaluates the launch once and renders everything a reader can get: the page's live sections
(pushed to open pages), the board they make up (wrapped per viewer by the status page), the
whole status page as an anonymous reader of a public launch gets it, and the readiness JSON.
The result is kept in the shared cache (Redis in production, files under LAUNCHBOARD_DATA_DIR
when embedded, so a CLI command's rendering reaches the server) and in each process's memory.
Reads serve these bytes: no request evaluates the launch or renders the board, however many
people have the page open.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import OrderedDict, defaultdict
from dataclasses import dataclass, field

import orjson
from django.contrib.auth.models import AnonymousUser
from django.core.cache import caches
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe

from checklists.board.pages import page_context
from checklists.board.presenters import readiness_json, summary_json
from checklists.core import history
from checklists.core.selectors import board_of, launch_with_plan
from checklists.core.services import readiness_state
from metrics import selectors as evidence

log = logging.getLogger(__name__)
NAMES = (
    "verdict",
    "golive",
    "about",
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
TTL_S = 600
PAST_TTL_S = 24 * 3600  # a past version's JSON: immutable, kept a day after its last rebuild
KEEP_IN_PROCESS = 64  # launches whose newest rendering a process keeps in memory


@dataclass(frozen=True)
class Sections:
    """One rendering of a launch. ``rendered_at`` orders renderings of the same version (a
    redraw for live data); ``changed_at`` is when the newest recorded change was made."""

    launch_id: int
    version: int
    verdict: str
    rendered_at: float
    html: dict = field(default_factory=dict)
    digests: dict = field(default_factory=dict)
    # what the sections say, whenever rendered: a page that shows it needs nothing resent
    content: str = ""
    state: dict = field(default_factory=dict)  # readiness statuses, remembered after a change
    slug: str = ""
    name: str = ""
    public: bool = False
    changed_at: float = 0.0
    board: str = ""  # every section in its place: the part of the page all viewers share
    page: bytes = b""  # the whole page for an anonymous reader (public launches only)
    api: bytes = b""  # the readiness JSON
    etag: str = ""  # of ``api``: the version and a digest of the bytes
    page_etag: str = ""
    summary: dict = field(default_factory=dict)  # the launch in a line (home page, launch list)

    def newer_than(self, other: Sections | None) -> bool:
        return other is None or (self.version, self.rendered_at) > (
            other.version,
            other.rendered_at,
        )

    def fresh(self, version: int = 0, after: float = 0.0) -> bool:
        return self.version >= version and self.rendered_at >= after


# The prefix names the shape of Sections: a process of another release never unpickles it.
PREFIX = "lb:rendered4"


def _key(launch_id: int) -> str:
    return f"{PREFIX}:{launch_id}:latest"


def _stamp_key(launch_id: int) -> str:
    return f"{PREFIX}:{launch_id}:stamp"


def _digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=12).hexdigest()


def _etag(version: int, data: bytes) -> str:
    return f'"{version}-{_digest(data)[:12]}"'


def render_sections(launch_id: int, *, live: bool = False) -> Sections:
    """Evaluate the launch and render everything readers get (no viewer: controls for all
    roles are in the HTML, hidden by the page unless the viewer may use them).

    A version is evaluated at its event's time, from the rows its change left: the board time
    travel rebuilds later from what was recorded with the change (checklists.core.history).
    ``live``: new live data that changed no state, evaluated now (the same version, redrawn:
    its values and reasons move, its states do not)."""
    with evidence.one_read():
        launch = launch_with_plan(pk=launch_id)
        board = board_of(launch, None if live else history.version_time(launch))
        context = page_context(board) | {"caps": [], "csrf_token": ""}
    html = {name: render_to_string(f"launches/sections.html#{name}", context) for name in NAMES}
    digests = {name: _digest(text.encode()) for name, text in html.items()}
    content = _digest("".join(digests[name] for name in NAMES).encode())
    parts = {name: mark_safe(text) for name, text in html.items()}  # noqa: S308 (our render)
    board_html = render_to_string(
        "launches/board.html", {"launch": launch, "parts": parts, "content": content}
    )
    public = launch.visibility == launch.Visibility.PUBLIC
    page = render_anonymous_page(launch, board.readiness.verdict, board_html) if public else b""
    api = orjson.dumps(readiness_json(board), option=orjson.OPT_NON_STR_KEYS)
    events = context["events"]
    return Sections(
        launch_id=launch.pk,
        version=launch.version,
        verdict=board.readiness.verdict,
        rendered_at=time.time(),
        html=html,
        digests=digests,
        content=content,
        state=readiness_state(board.readiness),
        slug=launch.slug,
        name=launch.name,
        public=public,
        changed_at=events[0].created_at.timestamp() if events else 0.0,
        board=board_html,
        page=page,
        api=api,
        etag=_etag(launch.version, api),
        page_etag=_etag(launch.version, page) if page else "",
        summary=summary_json(board),
    )


def past_json(launch, version: int) -> tuple[bytes, str]:
    """(readiness JSON, ETag) of a past version, rebuilt from its record once and then kept:
    a past version never changes. Raises history.NotRecorded."""
    key = f"{PREFIX}:{launch.pk}:v{version}"
    cache = caches["sections"]
    try:
        kept = cache.get(key)
    except Exception:  # a cache outage only costs a rebuild
        kept = None
    if kept is not None:
        return kept
    body = orjson.dumps(readiness_json(history.board_at(launch, version)))
    found = body, _etag(version, body)
    try:
        cache.set(key, found, PAST_TTL_S)
    except Exception:
        log.warning("could not keep version %s of launch %s", version, launch.pk, exc_info=True)
    return found


def page_context_for(sections: Sections, launch) -> dict:
    """The status page's context around a rendered board (status.html)."""
    return {
        "launch": launch,
        "verdict": sections.verdict,
        "board": mark_safe(sections.board),  # noqa: S308 (rendered by render_sections)
    }


def render_anonymous_page(launch, verdict: str, board_html: str) -> bytes:
    context = {
        "launch": launch,
        "verdict": verdict,
        "board": mark_safe(board_html),  # noqa: S308 (rendered just now)
        "caps": ["anonymous"],
        "user": AnonymousUser(),
        "login_next": launch.get_absolute_url(),
    }
    return render_to_string("launches/status.html", context).encode()


# --- sharing between processes, and this process's copy -------------------------------------------
_local: OrderedDict[int, Sections] = OrderedDict()
_local_lock = threading.Lock()
_render_locks: defaultdict[int, threading.Lock] = defaultdict(threading.Lock)


def latest(launch_id: int) -> Sections | None:
    """This process's newest rendering of the launch, without any I/O (None if it has none)."""
    return _local.get(launch_id)


def remember(sections: Sections) -> Sections:
    """Keep ``sections`` as this process's copy unless it holds a newer one; returns the
    newest."""
    with _local_lock:
        held = _local.get(sections.launch_id)
        if not sections.newer_than(held):
            return held
        _local[sections.launch_id] = sections
        _local.move_to_end(sections.launch_id)
        while len(_local) > KEEP_IN_PROCESS:
            _local.popitem(last=False)
        return sections


def forget() -> None:
    """Drop this process's copies (tests: each test has its own database)."""
    with _local_lock:
        _local.clear()


def current(launch_id: int, *, version: int = 0, after: float = 0.0) -> Sections:
    """The newest rendering of the launch at ``version`` or later, rendered after ``after``:
    from this process's memory, else the shared cache, else rendered here. One fetch or render
    per launch at a time in this process, however many requests wait for it."""
    found = _local.get(launch_id)
    if found is not None and found.fresh(version, after):
        return found
    with _render_locks[launch_id]:
        found = _local.get(launch_id)
        if found is not None and found.fresh(version, after):
            return found
        shared = shared_sections(launch_id)
        if shared is not None and shared.fresh(version, after):
            return remember(shared)
        return _render_and_share(launch_id)


def render_and_share(launch_id: int, *, live: bool = False) -> Sections:
    """Render now and share with every process; a cache outage only costs a re-render. A
    reader of this process that needs the new version meanwhile waits for this rendering
    rather than making its own."""
    with _render_locks[launch_id]:
        return _render_and_share(launch_id, live=live)


def _render_and_share(launch_id: int, *, live: bool = False) -> Sections:
    sections = render_sections(launch_id, live=live)
    newest = remember(sections)
    try:
        cache = caches["sections"]
        held = cache.get(_key(launch_id))
        if sections.newer_than(held):
            cache.set_many(
                {
                    _key(launch_id): sections,
                    _stamp_key(launch_id): (sections.version, sections.rendered_at),
                },
                TTL_S,
            )
    except Exception:
        log.warning("could not share rendered sections of launch %s", launch_id, exc_info=True)
    return newest


def shared_sections(launch_id: int) -> Sections | None:
    try:
        return caches["sections"].get(_key(launch_id))
    except Exception:
        log.warning("could not read shared sections of launch %s", launch_id, exc_info=True)
        return None


def shared_stamps(launch_ids) -> dict[int, tuple[int, float]]:
    """(version, rendered_at) of the newest shared rendering of each launch: a small read, so a
    process can tell it is behind without fetching the rendering itself."""
    try:
        found = caches["sections"].get_many([_stamp_key(i) for i in launch_ids])
    except Exception:
        log.warning("could not read the shared rendering stamps", exc_info=True)
        return {}
    return {int(key.split(":")[2]): tuple(value) for key, value in found.items()}
