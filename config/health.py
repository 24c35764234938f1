"""GET /health/: can this instance serve? Database, cache and broker, each checked.

For a load balancer: 503 only when this instance cannot serve, that is when its database is
unreachable; a cache or broker outage degrades the service (sessions from the database,
throttles open, jobs re-sent by the outbox sweep later) and answers 200 with ``"status":
"degraded"`` naming the failing parts, so healthy instances stay in rotation.

For monitoring: ``/health/?strict=1`` answers 503 when any part fails.

The reason is logged, never shown: a health page is public.
"""

import logging
from collections.abc import Callable
from uuid import uuid4

from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from config.celery import app as celery_app
from config.outage import RETRY_AFTER_SECONDS

logger = logging.getLogger(__name__)


def check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def check_cache() -> None:
    # The cache ignores its own connection errors (core/cache.py): ask for a round trip.
    key = f"health:{uuid4().hex}"
    cache.set(key, "ok", timeout=10)
    value = cache.get(key)
    cache.delete(key)
    if value != "ok":
        raise RuntimeError("cache did not return what was stored")


def check_broker() -> None:
    with celery_app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=0)


CHECKS: dict[str, Callable[[], None]] = {
    "database": check_database,
    "cache": check_cache,
    "broker": check_broker,
}
# Without these this instance cannot serve at all.
ESSENTIAL = {"database"}


@never_cache
@require_GET
def health(request: HttpRequest) -> JsonResponse:
    results: dict[str, str] = {}
    for name, check in CHECKS.items():
        try:
            check()
        except Exception:
            logger.warning("health check %s failed", name, exc_info=True)
            results[name] = "unavailable"
        else:
            results[name] = "ok"
    failing = [name for name, state in results.items() if state != "ok"]
    strict = request.GET.get("strict", "").lower() in {"1", "true", "yes"}
    if ESSENTIAL.intersection(failing) or (strict and failing):
        status = "unavailable"
    else:
        status = "degraded" if failing else "ok"
    body = {"status": status, "checks": results, "failing": failing}
    response = JsonResponse(body, status=503 if status == "unavailable" else 200)
    if status == "unavailable":
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response
