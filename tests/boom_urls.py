"""The real URLs plus two views that fail, for the error-handling tests (S10)."""

from django.urls import path

from launchboard.urls import handler500, urlpatterns  # noqa: F401 - re-exported for Django


def boom(request):
    raise RuntimeError("secret-ish detail that must not reach the client")


urlpatterns = [*urlpatterns, path("boom/", boom), path("api/boom/", boom)]
