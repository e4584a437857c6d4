from django.contrib import admin
from django.urls import path

from checklists import api, views

urlpatterns = [
    path("", views.launch_list, name="launch-list"),
    path("launches/<slug:slug>/", views.launch_status, name="launch-status"),
    path("healthz", api.healthz, name="healthz"),
    path("api/launches/", api.launches, name="api-launches"),
    path("api/launches/<slug:slug>/", api.launch_readiness, name="api-launch"),
    path("admin/", admin.site.urls),
]
