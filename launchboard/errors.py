"""Error pages: JSON under /api/ (the documented error shape), plain pages elsewhere. Never a
traceback."""

import logging

from django.core.exceptions import PermissionDenied
from django.http import HttpResponseServerError, JsonResponse
from django.template import loader
from django.views import defaults
from django.views.csrf import csrf_failure as page

from .requestid import current

MESSAGES = {400: "bad request", 403: "not allowed", 404: "not found", 500: "server error"}


class OneLineForbidden(logging.Filter):
    """Django logs every 403 with the PermissionDenied's traceback: a refusal is expected, not a
    fault, so it keeps its one line ("Forbidden (Permission denied): /path") and no traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], PermissionDenied):
            record.exc_info = None
            record.exc_text = None
        return True


def _api(request) -> bool:
    return request.path.startswith("/api/")


def bad_request(request, exception):
    if _api(request):
        return JsonResponse({"error": MESSAGES[400]}, status=400)
    return defaults.bad_request(request, exception)


def permission_denied(request, exception):
    if _api(request):
        return JsonResponse({"error": str(exception) or MESSAGES[403]}, status=403)
    return defaults.permission_denied(request, exception)


def page_not_found(request, exception):
    if _api(request):
        return JsonResponse({"error": MESSAGES[404]}, status=404)
    return defaults.page_not_found(request, exception)


def csrf_failure(request, reason=""):
    """A POST (or DELETE, PUT...) without a valid CSRF token: JSON under /api/, where clients
    read JSON, and Django's page elsewhere."""
    if _api(request):
        return JsonResponse(
            {"error": "refused: send the launch's API token (Authorization: Bearer <token>)"},
            status=403,
        )
    return page(request, reason=reason)


class ApiErrors:
    """A method an API path does not take (DELETE, PUT...) is answered in JSON like every
    other API error, with its Allow header, not with Django's empty HTML 405."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code == 405 and _api(request):
            allowed = response.get("Allow", "")
            response = JsonResponse(
                {"error": f"method {request.method} not allowed here; allowed: {allowed}"},
                status=405,
            )
            response["Allow"] = allowed
        return response


def server_error(request):
    """Say nothing about the failure, but give the request id to quote (it is in the logs)."""
    request_id = getattr(request, "id", current())
    if _api(request):
        return JsonResponse({"error": MESSAGES[500], "request_id": request_id}, status=500)
    try:
        html = loader.render_to_string("500.html", {"request_id": request_id})
    except Exception:  # the error page itself must not fail
        html = f"<h1>Server error</h1><p>Request id {request_id}</p>"
    return HttpResponseServerError(html)
