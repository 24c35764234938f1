"""Redis as a cache that degrades, never fails a request.

django-redis with ``IGNORE_EXCEPTIONS`` answers an unreachable Redis as a miss: a read gives
its default, a write is dropped. So sessions (``cached_db``) load from the database, DRF's
throttles count nothing and let the request through, and every ignored failure is logged to
``core.cache`` (once a minute: ``core.logging.OncePerInterval``). Two additions:

- allauth's rate limits take a lock with ``cache.add`` and, when the lock never comes, answer
  429 after a second of retries. Here ``add`` grants when Redis is unreachable, so rate limits
  fail open too.
- A request makes several cache calls. A refused connection costs a fraction of a
  millisecond, but an unreachable host (packets dropped) costs the whole connect timeout,
  each call. After a failed connect this process does not try that Redis again for
  ``FailFastConnection.pause`` seconds: the calls fail at once, and the first one after the
  pause finds out whether Redis is back.

``count_and_read`` is the throttles' counter: one round trip on the cache's own pooled
client, failing open in the same way. It can read one more key in that round trip (``read``:
a cached page, ``core.pagecache``), so a request counted and answered from the cache costs
one round trip, not two.
"""

import logging
import socket
import time
from typing import Any, ClassVar

from django.core.cache import caches
from django_redis.cache import RedisCache, omit_exception
from django_redis.exceptions import ConnectionInterrupted
from redis.connection import Connection, ConnectionPool
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ReadOnlyError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)


class FailOpenRedisCache(RedisCache):
    @omit_exception(return_value=True)
    def add(self, *args: Any, **kwargs: Any) -> bool:
        return bool(self.client.add(*args, **kwargs))


class FailFastConnection(Connection):
    """A Redis connection that, once a connect failed, fails the next ones at once for a while."""

    pause: ClassVar[float] = 5.0
    _down_until: ClassVar[dict[tuple[str, int], float]] = {}

    def _connect(self) -> socket.socket:
        server = (self.host, self.port)
        if time.monotonic() < self._down_until.get(server, 0.0):
            raise ConnectionRefusedError(f"{self.host}:{self.port} was unreachable moments ago")
        try:
            sock: socket.socket = super()._connect()
        except OSError:  # refused, unreachable, timed out
            self._down_until[server] = time.monotonic() + self.pause
            raise
        self._down_until.pop(server, None)
        return sock


class FailFastConnectionPool(ConnectionPool):
    def __init__(self, connection_class: type[Connection] = FailFastConnection, **kwargs: Any):
        super().__init__(connection_class=connection_class, **kwargs)


def count_and_read(
    key: str, *, expires_in: int, read: str | None = None
) -> tuple[int | None, bytes | None]:
    """Add one to the counter ``key`` (the cache's key prefix applied) and give it
    ``expires_in`` seconds to live if it has no expiry yet: the count, including this one,
    and the raw bytes stored under ``read`` (the key prefix applied, as ``core.pagecache``
    stores them), None if nothing is.

    One round trip to Redis (``MULTI; INCR; EXPIRE NX; [GET;] EXEC``), atomic: requests racing in
    any number of workers each get their own count. On the ``default`` cache's pooled client
    (``FailFastConnection``): while Redis is unreachable, None and None at once (no connect
    timeout per call), logged as every ignored cache failure is. Only an outage fails open (a
    connection refused, lost or timed out; a read-only replica left by a failover): any
    error Redis answers itself (``WRONGTYPE`` on a key of another shape, a Redis older than
    7 refusing ``EXPIRE NX``) is a misconfiguration and raises (a 500, logged), never a
    throttle silently off. Any other cache backend (the in-memory one of a local run) counts
    with ``add`` and ``incr``.
    """
    cache = caches["default"]
    if not isinstance(cache, RedisCache):
        value = None if read is None else cache.get(read)
        return _count_elsewhere(cache, key, expires_in), _as_bytes(value)
    name = cache.make_key(key)
    try:
        try:
            with cache.client.get_client(write=True).pipeline(transaction=True) as pipe:
                pipe.incr(name)
                pipe.expire(name, expires_in, nx=True)
                if read is not None:
                    pipe.get(cache.make_key(read))
                results = pipe.execute()
        except (RedisConnectionError, RedisTimeoutError, ReadOnlyError, OSError) as exc:
            raise ConnectionInterrupted(connection=None) from exc
    except ConnectionInterrupted:
        logger.exception("Exception ignored")  # django-redis's words: one warning a minute
        return None, None
    return int(results[0]), (_as_bytes(results[2]) if read is not None else None)


def _count_elsewhere(cache: Any, key: str, expires_in: int) -> int:
    cache.add(key, 0, expires_in)
    try:
        return int(cache.incr(key))
    except ValueError:  # expired between the two calls: this one is the first
        cache.add(key, 1, expires_in)
        return 1


def _as_bytes(value: Any) -> bytes | None:
    return bytes(value) if isinstance(value, bytes | bytearray | memoryview) else None
