"""Error pages: JSON under /api/ (the documented error shape), plain pages elsewhere. Never a
traceback."""

from django.http import HttpResponseServerError, JsonResponse
from django.template import loader
from django.views import defaults

from .requestid import current

MESSAGES = {400: "bad request", 403: "not allowed", 404: "not found", 500: "server error"}


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
