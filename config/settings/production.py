"""Production: refuses to start without its secrets; passes ``manage.py check --deploy``."""

from django.core.exceptions import ImproperlyConfigured

from .base import *
from .base import env, haven_database, redis_cache

# Email and the front end's address too: with mandatory verification, nobody can join
# without a working verification link.
_REQUIRED = (
    "DJANGO_SECRET_KEY",
    "DATABASE_URL",
    "REDIS_URL",
    "DJANGO_ALLOWED_HOSTS",
    "EMAIL_URL",
    "HAVEN_FRONTEND_URL",
)
_missing = [name for name in _REQUIRED if not env.str(name, default="").strip()]
if _missing:
    raise ImproperlyConfigured(
        "Haven's production settings need these environment variables: " + ", ".join(_missing)
    )

DEBUG = False
SECRET_KEY = env.str("DJANGO_SECRET_KEY")
if len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5:
    raise ImproperlyConfigured("DJANGO_SECRET_KEY must be at least 50 varied characters.")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS")

DATABASES = {"default": env.db_url("DATABASE_URL")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=600)
DATABASES["default"] = haven_database(DATABASES["default"])

REDIS_URL = env.str("REDIS_URL")
CACHES = {"default": redis_cache(REDIS_URL, "haven")}
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_TASK_ALWAYS_EAGER = False

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# TLS terminates at the load balancer, which sets X-Forwarded-Proto.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SECURE_REDIRECT_EXEMPT = [r"^health/$"]
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SESSION_COOKIE_SAMESITE = "Lax"

REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    # The browsable API is a development aid; production speaks JSON only.
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
}

LOGGING["root"]["level"] = env.str("HAVEN_LOG_LEVEL", default="INFO")
