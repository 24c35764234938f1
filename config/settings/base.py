"""Settings shared by every environment. Environment variables are read here, once.

Every variable is documented in README.md ("Configuration").
"""

from datetime import timedelta
from pathlib import Path
from typing import Any

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()

# --- Core -------------------------------------------------------------------------------

DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
# A form sent without its token, or a stale one: a branded page (JSON for the API).
CSRF_FAILURE_VIEW = "config.urls.csrf_failure"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.sites",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "django_htmx",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    # Before allauth: its browser views render Haven's templates (accounts/templates), found
    # first. Only allauth's page, layout and element templates are overridden there; its
    # emails and the admin's templates stay as they are.
    "accounts",
    "allauth",
    "allauth.account",
    "allauth.headless",
    "core",
    "forum",
    "moderation",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    # Before anything reads the request: sessions and authentication look up tokens.
    "config.middleware.RequestGuardMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "config.middleware.PrivateResponseMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "accounts.middleware.HeadlessErrorMiddleware",
]

ROOT_URLCONF = "config.urls"
# Moving the admin off /admin/ in production keeps it out of drive-by scans.
ADMIN_URL = env.str("DJANGO_ADMIN_URL", default="admin/")
WSGI_APPLICATION = "config.wsgi.application"
SITE_ID = 1

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "forum.context_processors.header",
            ],
        },
    },
]

# --- Data -------------------------------------------------------------------------------

# Persistent connections: opening one costs ~9 ms, a whole posts page should cost less.
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=600)
# A PostgreSQL host that does not answer at all (packets dropped) fails a request in seconds,
# with a 503 (config/urls.py handler500), instead of holding a web worker for the operating
# system's TCP timeout (minutes). libpq's smallest timeout is 2 s.
POSTGRES_CONNECT_TIMEOUT = 3
# TCP keepalives on idle connections: a server gone without closing them (its host powered
# off) is noticed by the operating system within about a minute (core/database/base.py).
POSTGRES_OPTIONS = {
    "connect_timeout": POSTGRES_CONNECT_TIMEOUT,
    "keepalives": 1,
    "keepalives_idle": 30,
    "keepalives_interval": 10,
    "keepalives_count": 3,
}


def haven_database(database: dict[str, Any]) -> dict[str, Any]:
    """A DATABASES entry as Haven runs it.

    PostgreSQL goes through ``core.database`` (Django's backend), and health checks stay on:
    a connection kept across requests that PostgreSQL ended (a restart) is replaced before
    the next request's first query, never failing it. Django's check is a ``SELECT 1`` per
    request (~0.26 ms); core.database's asks the socket first and costs no round trip while
    the connection is sound (tests/config/test_outages.py, "restart").
    """
    if database["ENGINE"] == "django.db.backends.postgresql":
        database["ENGINE"] = "core.database"
        database["OPTIONS"] = {**database.get("OPTIONS", {}), **POSTGRES_OPTIONS}
    database["CONN_HEALTH_CHECKS"] = True
    return database


DATABASES["default"] = haven_database(DATABASES["default"])
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:6379/0")


def redis_cache(location: str, key_prefix: str) -> dict[str, Any]:
    """Redis as a cache that degrades, never fails a request (core/cache.py).

    Connections are pooled, so connecting is rare while Redis is up: a short connect timeout
    bounds what an unreachable (black-holed) Redis costs, and after one failed connect the
    process stops trying for a few seconds.
    """
    return {
        "BACKEND": "core.cache.FailOpenRedisCache",
        "LOCATION": location,
        "KEY_PREFIX": key_prefix,
        "OPTIONS": {
            "IGNORE_EXCEPTIONS": True,
            "SOCKET_CONNECT_TIMEOUT": 0.05,
            "SOCKET_TIMEOUT": 0.5,
            "CONNECTION_POOL_CLASS": "core.cache.FailFastConnectionPool",
        },
    }


CACHES = {"default": redis_cache(REDIS_URL, "haven")}
DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
DJANGO_REDIS_LOGGER = "core.cache"

# --- Accounts -----------------------------------------------------------------------------

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

ACCOUNT_ADAPTER = "accounts.adapters.AccountAdapter"
ACCOUNT_SIGNUP_FORM_CLASS = "accounts.forms.SignupForm"
# The browser pages' forms: allauth's, labelled in Haven's words.
ACCOUNT_FORMS = {
    "login": "accounts.browser_forms.LoginForm",
    "change_password": "accounts.browser_forms.ChangePasswordForm",
    "set_password": "accounts.browser_forms.SetPasswordForm",
    "reset_password_from_key": "accounts.browser_forms.ResetPasswordKeyForm",
}
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = False
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Haven] "
# allauth's rate limits (sign-in failures, sign-up, password reset, confirmation emails)
# stay on, with the library's defaults; they count in the shared cache.
ACCOUNT_RATE_LIMITS: dict[str, str] | bool = {}

HEADLESS_ONLY = False  # allauth's browser views serve the pages (step 6)
HEADLESS_CLIENTS = ("app", "browser")
HEADLESS_SERVE_SPECIFICATION = True
# X-Session-Token looked up with one session read, not an EXISTS and a read (accounts/tokens.py).
HEADLESS_TOKEN_STRATEGY = "accounts.tokens.SessionTokenStrategy"  # noqa: S105
FRONTEND_URL = env.str("HAVEN_FRONTEND_URL", default="http://127.0.0.1:8000").rstrip("/")
# Every account email links to allauth's browser pages (config/urls.py), whichever client
# started the flow: with allauth.headless installed these build the links for both. The
# reset key is ``<uidb36>-<token>``, the shape of the page's route.
HEADLESS_FRONTEND_URLS = {
    "account_confirm_email": f"{FRONTEND_URL}/account/confirm-email/{{key}}/",
    "account_reset_password": f"{FRONTEND_URL}/account/password/reset/",
    "account_reset_password_from_key": f"{FRONTEND_URL}/account/password/reset/key/{{key}}/",
    "account_signup": f"{FRONTEND_URL}/account/signup/",
}

# Members sign in on allauth's page; the admin keeps its own (``accounts.forms.AdminLoginForm``).
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "/"
ACCOUNT_LOGOUT_REDIRECT_URL = "/"

# --- HTTP API -----------------------------------------------------------------------------

# How many proxies (load balancers) stand in front and append to X-Forwarded-For. Zero
# means the client's address is REMOTE_ADDR and a spoofed X-Forwarded-For is ignored, by
# DRF's throttles and allauth's rate limits alike.
TRUSTED_PROXIES = env.int("HAVEN_TRUSTED_PROXIES", default=0)
ALLAUTH_TRUSTED_PROXY_COUNT = TRUSTED_PROXIES

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.tokens.SessionTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "NUM_PROXIES": TRUSTED_PROXIES,
    # Signed in to read, verified and unsuspended to write; views open up further explicitly.
    "DEFAULT_PERMISSION_CLASSES": ["accounts.permissions.IsParticipant"],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_PARSER_CLASSES": [
        "core.api.parsers.LimitedJSONParser",
        "rest_framework.parsers.FormParser",
    ],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_THROTTLE_CLASSES": [
        "core.api.throttling.AnonThrottle",
        "core.api.throttling.UserThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("HAVEN_THROTTLE_ANON", default="120/min"),
        "user": env.str("HAVEN_THROTTLE_USER", default="600/min"),
        "posting": env.str("HAVEN_THROTTLE_POSTING", default="12/min"),
        "flagging": env.str("HAVEN_THROTTLE_FLAGGING", default="30/hour"),
        # A member's data export reads everything she has; erasing checks her password.
        "export": env.str("HAVEN_THROTTLE_EXPORT", default="5/hour"),
        "erase": env.str("HAVEN_THROTTLE_ERASE", default="5/hour"),
    },
    "EXCEPTION_HANDLER": "core.api.exceptions.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "core.api.schema.HavenAutoSchema",
    "DEFAULT_VERSIONING_CLASS": None,
    # OPTIONS describes nothing (405): the OpenAPI schema is the one description.
    "DEFAULT_METADATA_CLASS": None,
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Haven API",
    "DESCRIPTION": (
        "Peer-support forum for people living with cancer, answered by specialist nurses.\n\n"
        "Sign in through the allauth headless app client documented below "
        "(`POST /_allauth/app/v1/auth/login`) and send `meta.session_token` as the "
        "`X-Session-Token` header on every `/api/v1/` call. Errors have the shape "
        '`{"code", "detail", "fields"}`.'
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "core.api.schema.add_error_responses",
        "core.api.schema.add_allauth_headless",
    ],
}

# --- Jobs ---------------------------------------------------------------------------------

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_RESULT_BACKEND = None
# No results are kept, so none expire: beat then adds no "celery.backend_cleanup" job.
CELERY_RESULT_EXPIRES = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
# A task is acknowledged when it finishes, so a worker lost mid-task hands it back.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = 60
CELERY_TASK_TIME_LIMIT = 90
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A job published while the broker is down fails at once instead of holding a web worker:
# one connection attempt (kombu would otherwise sleep 2 s before giving up), no publish
# retries, a short connect timeout: a refused connection fails in about a millisecond, a
# black-holed one in 50 ms. What must not be lost is a row that a periodic job re-sends (the
# outbox); account emails are sent in-process instead (core/jobs.py). Workers reconnect on
# their own terms (broker_connection_retry, broker_connection_max_retries).
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": 3600,
    "socket_connect_timeout": 0.05,
    "max_retries": 0,
}
CELERY_BROKER_CONNECTION_TIMEOUT = 0.05
CELERY_TASK_PUBLISH_RETRY = False
# Django's LOGGING configures every process, workers included.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# The schedule lives in the database, created once by moderation's migration 0006 and then
# edited in the admin; no CELERY_BEAT_SCHEDULE, which beat would write over the edits.
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = env.str("HAVEN_TIME_ZONE", default="Europe/London")
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True

# --- Email --------------------------------------------------------------------------------

_email = env.email_url("EMAIL_URL", default="consolemail://")
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_HOST = _email.get("EMAIL_HOST") or "localhost"
EMAIL_PORT = _email.get("EMAIL_PORT") or 25
EMAIL_HOST_USER = _email.get("EMAIL_HOST_USER") or ""
EMAIL_HOST_PASSWORD = _email.get("EMAIL_HOST_PASSWORD") or ""
EMAIL_USE_TLS = bool(_email.get("EMAIL_USE_TLS"))
EMAIL_USE_SSL = bool(_email.get("EMAIL_USE_SSL"))
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Haven <no-reply@haven.example>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Internationalisation -------------------------------------------------------------------

LANGUAGE_CODE = "en-gb"
TIME_ZONE = env.str("HAVEN_TIME_ZONE", default="Europe/London")
USE_I18N = True
USE_TZ = True

# --- Static files ---------------------------------------------------------------------------

STATIC_URL = "static/"
# Where `collectstatic` gathers the pages' stylesheet for WhiteNoise (hashed in production).
STATIC_ROOT: Path | None = Path(
    env.str("DJANGO_STATIC_ROOT", default=str(BASE_DIR / "staticfiles"))
)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# --- Security headers -----------------------------------------------------------------------

SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
# Every signed-in API call loads its session (X-Session-Token is a session key): read it
# from the cache, write through to the database so a cache flush signs nobody out.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
SESSION_COOKIE_AGE = int(timedelta(days=14).total_seconds())
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("HAVEN_MAX_REQUEST_BYTES", default=256 * 1024)

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        # The admin and Swagger UI set inline style attributes; scripts stay 'self' only.
        "style-src": ["'self'", "'unsafe-inline'"],
        "script-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    },
}

# --- Logging --------------------------------------------------------------------------------

LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "filters": {"once_a_minute": {"()": "core.logging.OncePerInterval", "seconds": 60}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("HAVEN_LOG_LEVEL", default="INFO")},
    "loggers": {
        # A Redis outage fails every cache call: one warning a minute says so.
        "core.cache": {"filters": ["once_a_minute"]},
    },
}

# --- Haven --------------------------------------------------------------------------------

# seed_demo creates accounts with a published password: never where real people sign in.
HAVEN_ALLOW_DEMO_SEED = False
HAVEN_DEMO_PASSWORD = env.str("HAVEN_DEMO_PASSWORD", default="haven-demo-2026")
# Members may edit their own posts for this long; moderators any time.
HAVEN_EDIT_WINDOW_MINUTES = env.int("HAVEN_EDIT_WINDOW_MINUTES", default=60)
# Notification rows the fan-out job (forum.fanout) reads and inserts per chunk, each chunk its
# own short transaction, when a thread with many followers gets a reply.
HAVEN_FANOUT_BATCH = env.int("HAVEN_FANOUT_BATCH", default=1000)
# Rendered pages cached under keys naming the versions of what they show (core.pagecache):
# a write makes them unreachable at once; the timeout only bounds the memory they hold
# (forum.posts_cache, forum.thread_lists). After restoring the database from a backup, clear
# the cache: a restored thread's versions start again from older numbers.
HAVEN_PAGE_CACHE = env.bool("HAVEN_PAGE_CACHE", default=True)
HAVEN_PAGE_CACHE_SECONDS = env.int("HAVEN_PAGE_CACHE_SECONDS", default=3600)
# Linked from every nurse answer's disclaimer.
HAVEN_DISCLAIMER_URL = env.str(
    "HAVEN_DISCLAIMER_URL", default="https://haven.example/ask-our-nurses-disclaimer"
)
HAVEN_PRIVACY_URL = env.str("HAVEN_PRIVACY_URL", default="https://haven.example/privacy")
# Ask Our Nurses service level: nurses are reminded of questions unanswered this many
# working hours (the helpline's hours) after they were asked; 2 working days by default.
HAVEN_NURSE_SLA_WORKING_HOURS = env.float("HAVEN_NURSE_SLA_WORKING_HOURS", default=14.0)
# Which support service's opening hours are the nursing team's working hours.
HAVEN_NURSE_HOURS_SERVICE = env.str("HAVEN_NURSE_HOURS_SERVICE", default="helpline")
# A notification email is tried this many times (one per outbox sweep) before giving up.
HAVEN_EMAIL_MAX_ATTEMPTS = 8
# A worker that claims notification emails may send them for this long; after it, the sweep
# takes over what is still unsent. Longer than CELERY_TASK_TIME_LIMIT (check forum.E001), so
# the sweep never takes over a message a living worker may still be sending.
HAVEN_EMAIL_LEASE_SECONDS = env.int("HAVEN_EMAIL_LEASE_SECONDS", default=300)

# --- Moderation and safeguarding (step 5) ---------------------------------------------------
# Flags from this many different members hide a post until a moderator reviews it.
HAVEN_FLAG_HIDE_THRESHOLD = env.int("HAVEN_FLAG_HIDE_THRESHOLD", default=3)
# A new member's first N posts are held for approval (0: off, as in Discourse).
HAVEN_NEW_MEMBER_HOLD_POSTS = env.int("HAVEN_NEW_MEMBER_HOLD_POSTS", default=0)
# Which support service's opening hours are the moderation team's hours; outside them an
# urgent alert also goes to the on-call address. The forum is not watched 24/7.
HAVEN_MODERATION_HOURS_SERVICE = env.str("HAVEN_MODERATION_HOURS_SERVICE", default="moderation")
HAVEN_ONCALL_EMAIL = env.str("HAVEN_ONCALL_EMAIL", default="")
# An urgent item nobody has claimed after this many minutes alerts the moderators again.
HAVEN_URGENT_REALERT_MINUTES = env.int("HAVEN_URGENT_REALERT_MINUTES", default=15)
# Moderators are reminded of review items pending longer than this.
HAVEN_QUEUE_REMINDER_HOURS = env.int("HAVEN_QUEUE_REMINDER_HOURS", default=24)
# A moderator's claim on a review item keeps others off it for this long, unless released.
HAVEN_REVIEW_CLAIM_MINUTES = env.int("HAVEN_REVIEW_CLAIM_MINUTES", default=30)
