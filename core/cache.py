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
"""

import socket
import time
from typing import Any, ClassVar

from django_redis.cache import RedisCache, omit_exception
from redis.connection import Connection, ConnectionPool


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
