"""Shared fixtures. With CI=true a missing PostgreSQL or Redis fails the run instead of
silently falling back to SQLite and the in-memory layer."""

from __future__ import annotations

import os
import socket
from urllib.parse import urlparse

import pytest
from django.conf import settings

from launchboard.celery import app as celery_app

# Tests run Celery tasks in-process unless a test starts a real worker.
celery_app.conf.task_always_eager = True
celery_app.conf.task_eager_propagates = True


def _reachable(url: str, default_port: int) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname, parsed.port or default_port), timeout=3):
            return True
    except OSError:
        return False


def pytest_sessionstart(session):
    if os.environ.get("CI") != "true":
        return
    problems = []
    if not os.environ.get("DATABASE_URL", "").startswith(("postgres", "postgresql")):
        problems.append("CI=true but DATABASE_URL does not point at PostgreSQL")
    elif not _reachable(os.environ["DATABASE_URL"], 5432):
        problems.append(f"CI=true but PostgreSQL at {os.environ['DATABASE_URL']} is unreachable")
    if not os.environ.get("REDIS_URL"):
        problems.append("CI=true but REDIS_URL is not set")
    elif not _reachable(os.environ["REDIS_URL"], 6379):
        problems.append(f"CI=true but Redis at {os.environ['REDIS_URL']} is unreachable")
    if problems:
        pytest.exit("; ".join(problems), returncode=3)


@pytest.fixture
def demo_plan_text() -> str:
    return settings.DEMO_PLAN.read_text()


@pytest.fixture
def demo(db, demo_plan_text):
    """The demo launch, imported from its plan."""
    from checklists.core.services import plan_import
    from checklists.engine.plan import load_plan

    return plan_import(load_plan(demo_plan_text, "whatsapp-saas.yaml")).launch


@pytest.fixture(autouse=True)
def _checkpoints_of_this_run(settings, tmp_path_factory):
    """Audit checkpoints (checklists/core/audit.py) go to this run's temporary dir, not var/."""
    settings.AUDIT_CHECKPOINTS = tmp_path_factory.getbasetemp() / "audit" / "checkpoints.jsonl"


@pytest.fixture(autouse=True)
def _no_rendering_from_another_test():
    """Renderings are kept per launch id and version (sections.py); a rolled-back test may hand
    the next one the same id and version, so each test starts with none."""
    from django.core.cache import caches

    from checklists.board import sections

    sections.forget()
    caches["sections"].clear()
    yield
    sections.forget()
