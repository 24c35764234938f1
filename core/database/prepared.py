"""Statements prepared once per PostgreSQL session, then executed by name.

A few statements run on nearly every read (a signed-in reader's state on a posts page, a
thread list page's count and rows) and answer in a tenth of a millisecond, while PostgreSQL
spends three to five times that planning them each time (measured on the bench: 0.79 ms a
statement as text, 0.28 ms prepared; the list's 0.95 ms, 0.37 ms). ``Prepared`` sends its
``PREPARE`` the first time it runs on a connection and ``EXECUTE`` from then on: PostgreSQL
plans the first executions with their values and, once a generic plan costs no more, plans
no more (``plan_cache_mode``).

The ``PREPARE`` is part of the connection's set-up, as Django's own time zone and role
settings are: sent on the driver's cursor, so it is not one of a request's queries (the
query-count pins count what a request costs once the connection exists). A prepared
statement is not transactional (a rolled-back transaction keeps it) and lives as long as the
session: a new connection prepares afresh. Two consequences for a deployment, with the
advisory locks' (README): a pooler must hand each Django connection its own server session
(PgBouncer's session pooling, not transaction pooling), and ``DISCARD ALL`` must not be run
under a live connection. Schema changes that alter a prepared statement's result columns
need a restart of the workers, as every deploy with a migration does.

Elsewhere (SQLite, the local demo) the statement runs as written, with its named parameters.
"""

import hashlib
import weakref
from collections.abc import Mapping, Sequence
from typing import Any

from django.db.backends.utils import CursorWrapper


class Prepared:
    """``sql`` (named ``%(name)s`` parameters), prepared as ``name`` with ``params``: each
    parameter's name and SQL type, in the order ``EXECUTE`` passes them."""

    def __init__(self, name: str, sql: str, params: Sequence[tuple[str, str]]) -> None:
        self.sql = sql
        digest = hashlib.blake2b(sql.encode(), digest_size=4).hexdigest()
        # A new text is a new name: a process never executes another release's statement.
        self.name = f"haven_{name}_{digest}"
        positional = sql
        for n, (param, _type) in enumerate(params, 1):
            positional = positional.replace(f"%({param})s", f"${n}")
        if "%(" in positional:
            raise ValueError(f"{name}: a parameter without a type in {positional!r}")
        types = ", ".join(sql_type for _param, sql_type in params)
        self.prepare = f"PREPARE {self.name} ({types}) AS {positional}"
        self.execute_sql = f"EXECUTE {self.name} ({', '.join(['%s'] * len(params))})"
        self.names = [param for param, _type in params]
        # The driver's connections (one per session) this statement is prepared on.
        self._prepared_on: weakref.WeakSet[Any] = weakref.WeakSet()

    def execute(self, cursor: CursorWrapper, params: Mapping[str, Any]) -> None:
        """Run the statement on ``cursor`` (a Django cursor) with ``params``; fetch from it."""
        connection = cursor.db
        if connection.vendor != "postgresql":
            cursor.execute(self.sql, params)
            return
        session = connection.connection
        if session not in self._prepared_on:
            cursor.cursor.execute(self.prepare)  # the connection's set-up, not a query
            self._prepared_on.add(session)
        cursor.execute(self.execute_sql, [params[name] for name in self.names])
