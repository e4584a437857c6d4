from django.apps import AppConfig


class MetricsConfig(AppConfig):
    name = "metrics"
    verbose_name = "Evidence"

    def ready(self):
        # Register the Celery tasks in every process, so a service can send one by its name
        # (metrics/tasks.py imports the services; they never import it).
        from metrics import tasks  # noqa: F401
