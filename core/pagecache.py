"""Rendered page bodies in the cache (Redis), under keys that name exactly what they show.

A cached body is only as good as its key: callers put what makes the body exact (a thread's
version, the page's URL, the versions of the rows a list shows) in the key or in the value,
so a write makes every older body unreachable by construction; ``timeout`` only bounds the
memory a page no one reads any more keeps.

With Redis (django-redis) the default cache's own client and connection pool serve it, raw
bytes in one round trip (its key prefix, its ``core.cache.FailFastConnectionPool``), so an
unreachable Redis fails as fast here as everywhere else: a read is a miss, a write is
dropped, and the failure is logged to ``core.cache`` like the cache's own
(``core.logging.OncePerInterval`` keeps it to one line a minute). Any other cache backend
(the local demo's in-memory one) is used through Django's cache API. A page is then
rendered as if nothing were cached, never an error. ``HAVEN_PAGE_CACHE = False`` turns the
cache off: every get a miss, every set dropped.
"""

import hashlib
import logging
from typing import Any

from django.conf import settings
from django.core.cache import cache
from redis.exceptions import RedisError

logger = logging.getLogger("core.cache")

PREFIX = "page:"


def key_of(*parts: object) -> str:
    """A short cache key naming ``parts`` (their ``repr``s, in order)."""
    digest = hashlib.blake2b("\x1f".join(map(repr, parts)).encode(), digest_size=20)
    return PREFIX + digest.hexdigest()


def _redis() -> Any | None:
    """The default cache's Redis client, or None when the cache is not django-redis."""
    client = getattr(cache, "client", None)
    return None if client is None else client.get_client(write=True)


def get(key: str) -> bytes | None:
    """The body stored under ``key``, or None: never stored, expired, cache off or
    unreachable."""
    if not settings.HAVEN_PAGE_CACHE:
        return None
    try:
        redis = _redis()
        value = cache.get(key) if redis is None else redis.get(cache.make_key(key))
    except (RedisError, OSError):
        logger.exception("Exception ignored")
        return None
    return bytes(value) if isinstance(value, bytes | bytearray | memoryview) else None


def set(key: str, body: bytes, timeout: int) -> None:
    """Store ``body`` under ``key`` for ``timeout`` seconds; dropped if the cache is off or
    unreachable."""
    if not settings.HAVEN_PAGE_CACHE:
        return
    try:
        redis = _redis()
        if redis is None:
            cache.set(key, body, timeout)
        else:
            redis.set(cache.make_key(key), body, ex=timeout)
    except (RedisError, OSError):
        logger.exception("Exception ignored")
