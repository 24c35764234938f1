"""Throttles counting in fixed windows, one Redis round trip a request, rates read live.

DRF's own throttles keep a list of request times per client (a GET and a SET: two round
trips, and a pickled list that grows with the rate). Here a rate ``N/period`` is a fixed
window: the clock is cut into periods (aligned on the epoch), each client has a counter per
period (``core.cache.count_and_read``: INCR and EXPIRE in one round trip, atomic across
workers), and a request is allowed while the counter is at most N. A refused request's
wait (``Retry-After``) is what is left of the window, in whole seconds, at least one. A
client may therefore send up to 2N requests across a window's edge, never more.

Rates are read from settings when a throttle runs, not when the class is imported (DRF
copies ``DEFAULT_THROTTLE_RATES`` into a class attribute at import time), so settings and
tests can change them. Counters live in the shared cache under its key prefix; while Redis
is unreachable nothing is counted and every request goes ahead (fail open, at once).
"""

import math
from types import SimpleNamespace
from typing import Any

from django.http import HttpRequest
from rest_framework import throttling
from rest_framework.settings import api_settings

from core.cache import count_and_read

# ``FixedWindowThrottle.read_value`` when the throttle counted, so read, nothing.
READ_NOTHING = object()


class FixedWindowThrottle(throttling.SimpleRateThrottle):
    """DRF's SimpleRateThrottle counting in fixed windows: mixed in before DRF's classes,
    which keep saying whose counter a request is (``get_cache_key``)."""

    now: float
    window_ends: int | None = None

    def get_rate(self) -> str | None:
        rate = api_settings.DEFAULT_THROTTLE_RATES.get(self.scope or "")
        return None if rate is None else str(rate)

    # What ``allow_request(..., read=key)`` read under ``key`` in its round trip; READ_NOTHING
    # when it counted nothing (no rate, or no one to count), so read nothing either.
    read_value: object = None

    def allow_request(self, request: Any, view: Any, *, read: str | None = None) -> bool:
        """Counted, and True while this window's count is within the rate (read now).
        ``read``: a cache key read in the same round trip, its bytes left in ``read_value``
        (``core.cache.count_and_read``)."""
        self.read_value = READ_NOTHING
        self.num_requests, self.duration = self.parse_rate(self.get_rate())
        if self.num_requests is None or self.duration is None:
            return True
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        self.now = float(self.timer())
        window = int(self.now // self.duration)
        self.window_ends = (window + 1) * self.duration
        count, self.read_value = count_and_read(
            f"{key}:{self.duration}:{window}",
            expires_in=math.ceil(self.window_ends - self.now) + 1,
            read=read,
        )
        return count is None or count <= self.num_requests

    def wait(self) -> float | None:
        """Seconds until this window ends, whole and at least one (``Retry-After``)."""
        if self.window_ends is None:
            return None
        return max(math.ceil(self.window_ends - self.now), 1)


class AnonThrottle(FixedWindowThrottle, throttling.AnonRateThrottle):
    pass


class UserThrottle(FixedWindowThrottle, throttling.UserRateThrottle):
    """Signed-in users only: anonymous requests are AnonThrottle's, counted once."""

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        if not (request.user and request.user.is_authenticated):
            return None
        return super().get_cache_key(request, view)


class ScopedThrottle(FixedWindowThrottle, throttling.ScopedRateThrottle):
    """Per-view scope (``throttle_scope = "posting"``), per user, across workers."""

    def allow_request(self, request: Any, view: Any, *, read: str | None = None) -> bool:
        self.scope = getattr(view, self.scope_attr, None)
        if not self.scope:
            self.read_value = READ_NOTHING
            return True
        return super().allow_request(request, view, read=read)


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
    if throttle.allow_request(request, view):
        return None
    return max(math.ceil(throttle.wait() or 1), 1)  # refused: at least a second, never "now"
