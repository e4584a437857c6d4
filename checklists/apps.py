from django.apps import AppConfig


class ChecklistsConfig(AppConfig):
    name = "checklists"
    verbose_name = "Launches"

    def ready(self):
        from . import receivers  # noqa: F401  (connects the signal receivers)
