"""Throttles that read their rate when they run, not when the class is imported.

DRF copies ``DEFAULT_THROTTLE_RATES`` into a class attribute at import time; reading it per
request lets settings (and tests) change rates. Counters live in the shared cache (Redis),
so every gunicorn worker sees the same count.
"""

from rest_framework import throttling
from rest_framework.settings import api_settings


class _LiveRateMixin:
    scope: str

    def get_rate(self) -> str | None:
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)


class AnonThrottle(_LiveRateMixin, throttling.AnonRateThrottle):
    pass


class UserThrottle(_LiveRateMixin, throttling.UserRateThrottle):
    pass


class ScopedThrottle(_LiveRateMixin, throttling.ScopedRateThrottle):
    """Per-view scope (``throttle_scope = "posting"``), per user, across workers."""
