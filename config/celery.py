"""The Celery application: Redis broker, JSON only, late acks, django-celery-beat schedule."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("haven")
# Every CELERY_* Django setting configures the app (see config/settings/base.py).
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
