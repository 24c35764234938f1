"""Throttles that read their rate when they run, not when the class is imported.

DRF copies ``DEFAULT_THROTTLE_RATES`` into a class attribute at import time; reading it per
request lets settings (and tests) change rates. Counters live in the shared cache (Redis),
so every gunicorn worker sees the same count.
"""

import math
from types import SimpleNamespace
from typing import Any

from django.http import HttpRequest
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


def throttle_wait(request: HttpRequest, *, scope: str) -> int | None:
    """A page's request against the API's scoped rate ``scope`` (``posting``, ``export``...):
    None if it may go ahead (and it is counted), else how many whole seconds to wait,
    rounded up and at least one (a ``Retry-After`` value as it is: never too early, never 0).

    The same throttle as an API view with ``throttle_scope = scope``, on the same counters:
    requests to the page and to the API share one limit per member.
    """
    throttle = ScopedThrottle()
    # It reads only the request's user and META, and the view's ``throttle_scope``.
    view = SimpleNamespace(throttle_scope=scope)
    if throttle.allow_request(request, view):  # type: ignore[arg-type]
        return None
    return max(math.ceil(throttle.wait() or 1), 1)  # refused: at least a second, never "now"
