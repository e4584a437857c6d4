from django.urls import path

from notifications import views

urlpatterns = [
    path(
        "launches/<slug:slug>/notifications/",
        views.notifications_view,
        name="launch-notifications",
    ),
    path("launches/<slug:slug>/notify-me/", views.notify_me_view, name="notify-me"),
    path(
        "notifications/unsubscribe/<str:token>/",
        views.unsubscribe_view,
        name="notify-unsubscribe",
    ),
]
