"""Zero set-up local run: SQLite, eager Celery, console email, in-process cache."""

from .base import *
from .base import env

DEBUG = env.bool("DJANGO_DEBUG", default=True)
SECRET_KEY = env.str(
    "DJANGO_SECRET_KEY", default="local-only-insecure-key-never-used-in-production-0123456789"
)

CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# No broker to install: tasks run in-process, side effects still wait for the commit.
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=True)
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="memory://")

HAVEN_ALLOW_DEMO_SEED = True

# Static files come from the apps directly: nothing to collect before a run.
STATIC_ROOT = None
WHITENOISE_USE_FINDERS = True
