"""The launch: its plan, its live state, the verdict and every way people see and change it.

In layers, each importing only those below it (checked by import-linter, `make lint`):

    web/        HTTP: pages, forms, the JSON API, uploads, the fast path for anonymous reads
    realtime/   open pages: the hub of each server process, WebSocket consumers, publishing
    board/      the launch as every reader sees it, rendered once per change
    core/       the launch's reads and writes: services, selectors, the Event log, who may do what
    engine/     pure: the plan format, thresholds and the readiness engine (no Django, no I/O)

Django's conventions stay at this level: models, admin, apps, tasks (Celery), routing
(Channels), management commands, template tags and migrations.
"""
