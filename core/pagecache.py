"""Rendered page bodies in the cache (Redis), under keys that name exactly what they show.

Callers build the key from everything the body depends on (the page, its query, the
versions of the rows it shows), so a write makes the old body unreachable by construction;
the timeout only bounds how long an unreachable body occupies memory. The cache failing
(Redis down) is a miss and a dropped write, logged by ``core.cache``: a page is then
rendered as if nothing were cached, never an error. ``HAVEN_PAGE_CACHE = False`` turns
the cache off (every get a miss, every set dropped).
"""

import hashlib
import logging

from django.conf import settings
from django.core.cache import caches

logger = logging.getLogger(__name__)

PREFIX = "page:"


def key_of(*parts: object) -> str:
    """A short cache key naming ``parts`` (their ``repr``s, in order)."""
    digest = hashlib.blake2b("\x1f".join(map(repr, parts)).encode(), digest_size=20)
    return PREFIX + digest.hexdigest()


def get(key: str) -> bytes | None:
    """The body stored under ``key``, or None (not there, cache off or unreachable)."""
    if not settings.HAVEN_PAGE_CACHE:
        return None
    try:
        body = caches["default"].get(key)
    except Exception:  # a backend that raises instead of ignoring: a miss all the same
        logger.warning("page cache: get failed", exc_info=True)
        return None
    return body if isinstance(body, bytes) else None


def set(key: str, body: bytes, timeout: float) -> None:
    """Store ``body`` under ``key`` for ``timeout`` seconds; a failure only loses it."""
    if not settings.HAVEN_PAGE_CACHE:
        return
    try:
        caches["default"].set(key, body, timeout)
    except Exception:
        logger.warning("page cache: set failed", exc_info=True)
