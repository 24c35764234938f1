"""Rendered page bodies in Redis: one round trip to read, one to write, never an error.

A cached body is only as good as its key: callers put what makes the body exact (a thread's
version, the page's URL) in the key or in the value, so a write makes every older body a
miss by construction; ``timeout`` only bounds the memory a page no one reads any more keeps.

The default cache's own Redis client and connection pool serve it (its key prefix, its
``core.cache.FailFastConnectionPool``), so an unreachable Redis fails as fast here as
everywhere else: a read is a miss, a write is dropped, and the failure is logged to
``core.cache`` like the cache's own (``core.logging.OncePerInterval`` keeps it to one line
a minute).
"""

import logging
from typing import Any

from django.core.cache import cache
from redis.exceptions import RedisError

logger = logging.getLogger("core.cache")


def _client() -> Any:
    return cache.client.get_client(write=True)  # type: ignore[attr-defined]


def get(key: str) -> bytes | None:
    """The body stored under ``key``, or None: never stored, expired, or Redis unreachable."""
    try:
        value = _client().get(cache.make_key(key))
    except (RedisError, OSError):
        logger.exception("Exception ignored")
        return None
    return None if value is None else bytes(value)


def set(key: str, body: bytes, timeout: int) -> None:
    """Store ``body`` under ``key`` for ``timeout`` seconds; dropped if Redis is unreachable."""
    try:
        _client().set(cache.make_key(key), body, ex=timeout)
    except (RedisError, OSError):
        logger.exception("Exception ignored")
