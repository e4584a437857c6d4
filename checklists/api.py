"""The JSON API. Plain function views; errors are ``{"error": ...}`` with a 4xx status."""

from __future__ import annotations

import orjson
from django.db import connection
from django.http import HttpResponse
from django.views.decorators.http import require_GET

from .models import Launch
from .presenters import readiness_json
from .selectors import board_for_slug


def json_response(data, status: int = 200) -> HttpResponse:
    return HttpResponse(
        orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS),
        status=status,
        content_type="application/json",
    )


def error(message: str, status: int) -> HttpResponse:
    return json_response({"error": message}, status=status)


@require_GET
def healthz(request):
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:
        return json_response({"status": "error", "database": "unreachable"}, status=503)
    return json_response({"status": "ok", "database": "ok"})


@require_GET
def launches(request):
    rows = Launch.objects.order_by("name").values("slug", "name", "version")
    return json_response(
        {"launches": [dict(row, url=f"/api/launches/{row['slug']}/") for row in rows]}
    )


@require_GET
def launch_readiness(request, slug):
    try:
        board = board_for_slug(slug)
    except Launch.DoesNotExist:
        return error(f"no launch {slug!r}", 404)
    return json_response(readiness_json(board))
