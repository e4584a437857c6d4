from django.urls import path

from checklists.realtime import consumers

websocket_urlpatterns = [
    path("ws/launches/<slug:slug>/", consumers.LaunchConsumer.as_asgi()),
]
