from django.apps import AppConfig


class ChecklistsConfig(AppConfig):
    name = "checklists"
    verbose_name = "Launches"

    def ready(self):
        # Importing a module of receivers connects them; this runs once the app registry is
        # ready, which a module-level import here could not wait for.
        from checklists.core import receivers  # noqa: F401  (evidence, rights, approvals)
        from checklists.realtime import broadcast  # noqa: F401  (changes to open pages)
        from checklists.web import security_log  # noqa: F401  (sign-ins)
