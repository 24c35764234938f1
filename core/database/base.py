"""PostgreSQL, with a health check that costs no round trip while the connection is sound.

Connections persist across requests (``CONN_MAX_AGE``). When PostgreSQL restarts, or an
administrator ends a backend, the connection a worker kept is dead, and the first query of
the next request would fail (a 503). Django's ``CONN_HEALTH_CHECKS`` guards against that
with a ``SELECT 1`` before each request's first query: a round trip (~0.26 ms) on every
request. A connection that the server ended has something waiting on its socket (the
server's farewell error, then the end of the stream), while a sound idle connection has
nothing to read. So ``is_usable`` asks the operating system first (``poll``, no round trip)
and sends ``SELECT 1`` only when something is waiting or a transaction is open: the same
answer, paid for only when the answer may be no.

A server that vanished without closing anything (its host powered off, the network cut)
sends nothing; TCP keepalives (``POSTGRES_OPTIONS`` in config/settings/base.py)
make the operating system notice an idle connection's dead peer within a minute or so, and
then the socket reports it here too.

Each new session runs its prepared statements with generic plans (``plan_cache_mode =
force_generic_plan``): the only statements Haven prepares are ``core.database.prepared``'s,
written for a generic plan, and PostgreSQL's own choice kept planning the thread list's on
every execution at 1 M posts (its ``LIMIT``, a parameter, is costed at a tenth of the
threads), at 0.5 ms each. Django's queries are not prepared (client-side binding), so this
changes no plan of theirs; the triggers' statements are single-row inserts. And no JIT
(``jit = off``): a generic plan's cost, a tenth of the threads, passed ``jit_above_cost``
for a member's list page, whose 0.3 ms of work then took 35 ms to compile every time; a
forum's statements are short, which JIT never pays for.
"""

import select
from typing import Any

import psycopg
from django.db.backends.postgresql import base
from psycopg.pq import TransactionStatus


class DatabaseWrapper(base.DatabaseWrapper):
    def _configure_connection(self, connection: Any) -> bool:
        """Django's set-up of a new session (its time zone, its role), generic plans for its
        prepared statements and no JIT. True: to be committed (Django commits it, if the
        session is not in autocommit)."""
        super()._configure_connection(connection)  # type: ignore[misc]
        with connection.cursor() as cursor:
            cursor.execute("SET plan_cache_mode = force_generic_plan")
            cursor.execute("SET jit = off")
        return True

    def is_usable(self) -> bool:
        connection: Any = self.connection
        if connection is None or connection.closed:
            return False
        if connection.info.transaction_status != TransactionStatus.IDLE:
            return bool(super().is_usable())
        try:
            poller = select.poll()
            poller.register(connection.fileno(), select.POLLIN | select.POLLPRI)
            waiting = poller.poll(0)
        except (OSError, ValueError, psycopg.Error):  # no socket left: not usable
            return False
        # Readable, hung up or in error: the server may have ended it; SELECT 1 says for sure.
        return not waiting or bool(super().is_usable())
