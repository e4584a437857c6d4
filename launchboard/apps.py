from django.apps import AppConfig


class LaunchboardConfig(AppConfig):
    name = "launchboard"
