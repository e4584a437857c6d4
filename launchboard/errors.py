"""Error pages: JSON under /api/ (the documented error shape), plain pages elsewhere. Never a
traceback."""

from django.http import JsonResponse
from django.views import defaults

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
    if _api(request):
        return JsonResponse({"error": MESSAGES[500]}, status=500)
    return defaults.server_error(request)
