"""The test suite: real PostgreSQL and real Redis on loopback, never a developer's data.

pytest-django creates and drops its own ``test_<name>`` database; cache keys carry a
prefix the suite alone uses, and only those keys are ever deleted.
"""

from .base import *
from .base import env, haven_database, redis_cache

DEBUG = False
SECRET_KEY = "test-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"  # noqa: S105

DATABASES = {
    "default": env.db_url("DATABASE_URL", default="postgres://haven:haven@127.0.0.1:5432/haven"),
}
DATABASES["default"]["CONN_MAX_AGE"] = 0
DATABASES["default"] = haven_database(DATABASES["default"])
# test_<name>: two checkouts pointed at two names never share a test database.
DATABASES["default"]["TEST"] = {"NAME": f"test_{DATABASES['default']['NAME']}"}

REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:6379/15")
CACHES = {"default": redis_cache(REDIS_URL, "haven-test")}

# Tasks run eagerly unless a test starts a real worker (tests/conftest.py `celery_worker`),
# which switches the app to the broker for its duration. A test that starts its own servers
# (a worker or gunicorn subprocess) sets CELERY_TASK_ALWAYS_EAGER=false, EMAIL_URL and
# HAVEN_EMAIL_LEASE_SECONDS in their environment; unset, these defaults hold.
CELERY_BROKER_URL = REDIS_URL
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=True)
CELERY_TASK_DEFAULT_QUEUE = "haven-test"
# The eager and solo pools the suite uses never enforce time limits; short ones let a worker
# test lease its emails for a few seconds (forum.E001 wants the lease longer than the limit),
# and a local mail server answers in milliseconds.
CELERY_TASK_SOFT_TIME_LIMIT = 2
CELERY_TASK_TIME_LIMIT = 3
EMAIL_TIMEOUT = 1

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
if not env.str("EMAIL_URL", default=""):
    EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
HAVEN_ALLOW_DEMO_SEED = True

# Static files come from the apps directly: nothing to collect before a run.
STATIC_ROOT = None
WHITENOISE_USE_FINDERS = True

# Tests post far faster than people; one test pins the posting throttle with its own rate.
REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "DEFAULT_THROTTLE_RATES": {
        **REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
        "posting": "1000/min",
        "flagging": "1000/min",
        "export": "1000/min",
        "erase": "1000/min",
    },
}
