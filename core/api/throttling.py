"""Throttles that read their rate when they run, not when the class is imported.

DRF copies ``DEFAULT_THROTTLE_RATES`` into a class attribute at import time; reading it per
request lets settings (and tests) change rates. Counters live in the shared cache (Redis),
so every gunicorn worker sees the same count.
"""

from typing import Any

from rest_framework import throttling
from rest_framework.settings import api_settings


class _LiveRateMixin:
    scope: str | None

    def get_rate(self) -> str | None:
        rate = api_settings.DEFAULT_THROTTLE_RATES.get(self.scope or "")
        return None if rate is None else str(rate)


class AnonThrottle(_LiveRateMixin, throttling.AnonRateThrottle):
    pass


class UserThrottle(_LiveRateMixin, throttling.UserRateThrottle):
    """Signed-in users only: anonymous requests are AnonThrottle's, counted once."""

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        if not (request.user and request.user.is_authenticated):
            return None
        return super().get_cache_key(request, view)


class ScopedThrottle(_LiveRateMixin, throttling.ScopedRateThrottle):
    """Per-view scope (``throttle_scope = "posting"``), per user, across workers."""


class _Scoped:
    """The one attribute ``ScopedRateThrottle`` reads from a view."""

    def __init__(self, scope: str) -> None:
        self.throttle_scope = scope


def throttle_wait(request: Any, *, scope: str) -> float | None:
    """Count one request against ``scope`` (``posting``, ``flagging``) for its user, as the
    API's ``ScopedThrottle`` counts it, in the same counter: None when it is allowed, else
    the seconds until it would be.

    For views that are not DRF's (the pages): a member's page replies and API replies share
    one allowance. ``request`` is a Django or DRF request (``user`` and ``META`` are read).
    """
    throttle = ScopedThrottle()
    if throttle.allow_request(request, _Scoped(scope)):  # type: ignore[arg-type]
        return None
    return throttle.wait() or 1.0
