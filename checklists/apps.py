from django.apps import AppConfig


class ChecklistsConfig(AppConfig):
    name = "checklists"
    verbose_name = "Launches"

    def ready(self):
        from . import receivers, security_log  # noqa: F401  (connect the signal receivers)
