"""The launch as every reader sees it: the page's context (pages), its charts (charts, suite,
live), readiness as JSON (presenters) and the sections, page and JSON rendered once per change
and shared between processes (sections).

May import: ``core``, ``engine``, ``checklists.models``, ``metrics.selectors`` and Django's
templates and cache. Never ``realtime`` or ``web``.
"""
