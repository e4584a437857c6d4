"""The Celery app. Production runs separate worker and beat processes; `make run` runs both
inside the web process (see launchboard/embedded.py)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "launchboard.settings")

app = Celery("launchboard")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
