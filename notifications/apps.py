from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Importing the module connects its receiver; the app registry must be ready first.
        from notifications import receivers  # noqa: F401  (readiness_settled)
