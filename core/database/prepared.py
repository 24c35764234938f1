"""Statements prepared once per PostgreSQL session, then executed by name.

A few statements run on nearly every read (a signed-in reader's state on a posts page, a
thread list page's count and rows, the session token's user) and answer in a tenth of a
millisecond, while PostgreSQL spent three to five times that planning them each time
(measured on the bench: 0.79 ms a statement as text, 0.28 ms prepared; the list's 0.95 ms,
0.37 ms). ``Prepared`` sends its ``PREPARE`` the first time it runs on a session (unless the
session has it already: a pooled session handed to another Django connection) and
``EXECUTE`` from then on, planned once: each session runs them with a generic plan
(``plan_cache_mode``, ``core.database.base``), and each statement is written for one (its
plans are pinned for both modes in ``tests/forum/test_query_plans.py``). Left to choose,
PostgreSQL kept planning the list's on every execution at 1 M posts.

The ``PREPARE`` (and the look in ``pg_prepared_statements`` before it) is sent on the
driver's cursor, through Django's error wrapping (an outage is the same 503): it is set-up,
once a session, not one of a request's queries, so the query-count pins count what a
request costs on a connection in use. With ``CONN_MAX_AGE = 0`` every request is a new
session and pays it, which only the benchmark's settings would notice (Haven keeps
connections for 600 s). A prepared statement is not transactional (a rolled-back
transaction keeps it) and lives as long as the session. One lost under a live connection
(``DISCARD ALL``, ``DEALLOCATE``) or invalidated by a migration that changed the columns it
returns is prepared again and run again at once outside a transaction (a request's reads);
inside one, that transaction fails and the next use prepares it again.

What it relies on: Django's defaults for psycopg (client-side binding, so ``EXECUTE`` takes
its values as literals; no ``prepare_threshold``, so psycopg never sends ``DEALLOCATE ALL``
of its own), and a pooler that hands each Django connection one server session for its life
(PgBouncer's session pooling, not transaction pooling; README, Production).

Elsewhere (SQLite, the local demo) the statement runs as written, with its named parameters.
"""

import hashlib
import weakref
from collections.abc import Mapping, Sequence
from typing import Any

import psycopg
from django.db import DatabaseError
from django.db.backends.utils import CursorWrapper

# What EXECUTE answers when the session no longer has the statement as it was prepared: gone
# (``DISCARD ALL``), or its result columns changed under it ("cached plan must not change
# result type").
_LOST = (psycopg.errors.InvalidSqlStatementName, psycopg.errors.FeatureNotSupported)


class Prepared:
    """``sql`` (named ``%(name)s`` parameters), prepared as ``name`` with ``params``: each
    parameter's name and SQL type, in the order ``EXECUTE`` passes them."""

    def __init__(self, name: str, sql: str, params: Sequence[tuple[str, str]]) -> None:
        self.sql = sql
        positional = sql
        for n, (param, _type) in enumerate(params, 1):
            positional = positional.replace(f"%({param})s", f"${n}")
        if "%(" in positional:
            raise ValueError(f"{name}: a parameter without a type in {positional!r}")
        types = ", ".join(sql_type for _param, sql_type in params)
        # A new text or new types is a new name: a session never runs another one's statement.
        digest = hashlib.blake2b(f"{types}\0{sql}".encode(), digest_size=4).hexdigest()
        self.name = f"haven_{name}_{digest}"
        self.prepare = f"PREPARE {self.name} ({types}) AS {positional}"
        self.execute_sql = f"EXECUTE {self.name} ({', '.join(['%s'] * len(params))})"
        self.names = [param for param, _type in params]
        # The driver's connections (one per session) this statement is known prepared on.
        self._prepared_on: weakref.WeakSet[Any] = weakref.WeakSet()

    def execute(self, cursor: CursorWrapper, params: Mapping[str, Any]) -> None:
        """Run the statement on ``cursor`` (a Django cursor) with ``params``; fetch from it."""
        connection = cursor.db
        if connection.vendor != "postgresql":
            cursor.execute(self.sql, params)
            return
        values = [params[name] for name in self.names]
        if connection.connection not in self._prepared_on:
            self._prepare(cursor, again=False)
        try:
            cursor.execute(self.execute_sql, values)
        except DatabaseError as exc:
            if not isinstance(exc.__cause__, _LOST):
                raise
            self._prepared_on.discard(connection.connection)
            if connection.in_atomic_block:
                raise  # the transaction is spoilt; the next use prepares it again
            self._prepare(cursor, again=True)
            cursor.execute(self.execute_sql, values)

    def _prepare(self, cursor: CursorWrapper, *, again: bool) -> None:
        """Prepare the statement on the cursor's session, unless the session has it already
        (``again``: replace what it has)."""
        connection = cursor.db
        driver = cursor.cursor  # set-up, not a query of the request's
        with connection.wrap_database_errors:
            driver.execute("SELECT 1 FROM pg_prepared_statements WHERE name = %s", [self.name])
            present = driver.fetchone() is not None
            if present and again:
                driver.execute(f"DEALLOCATE {self.name}")
            if again or not present:
                driver.execute(self.prepare)
        self._prepared_on.add(connection.connection)
