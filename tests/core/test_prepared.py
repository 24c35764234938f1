"""Statements prepared once per PostgreSQL session (core.database.prepared)."""

import pytest
from django.db import ProgrammingError, connection, transaction
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from core.database.prepared import Prepared
from forum import selectors
from tests.factories import UserFactory, make_thread
from tests.utils import token_client

pytestmark = pytest.mark.django_db


def prepared_here() -> dict[str, tuple[int, int]]:
    """This session's prepared statements: name -> (generic plans, custom plans)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT name, generic_plans, custom_plans FROM pg_prepared_statements")
        return {name: (generic, custom) for name, generic, custom in cursor.fetchall()}


def run(statement: Prepared, **params):
    with connection.cursor() as cursor:
        statement.execute(cursor, params)
        return cursor.fetchall()


DOUBLE = Prepared("test_double", "SELECT %(n)s * 2, %(word)s", [("n", "bigint"), ("word", "text")])


def test_a_statement_is_prepared_once_a_session_and_planned_no_more():
    connection.ensure_connection()
    with CaptureQueriesContext(connection) as queries:
        answers = [run(DOUBLE, n=n, word="it's") for n in range(12)]
    assert answers == [[(2 * n, "it's")] for n in range(12)]
    # Each run is one query, the EXECUTE: the PREPARE is the session's set-up.
    assert [q["sql"].split(" (")[0] for q in queries] == [f"EXECUTE {DOUBLE.name}"] * 12
    # Planned once: every session runs prepared statements with a generic plan.
    assert prepared_here()[DOUBLE.name] == (12, 0)


@pytest.mark.django_db(transaction=True)  # closes its connection
def test_every_new_session_runs_prepared_statements_with_generic_plans_and_no_jit():
    """Set up by core.database on each new session: left to choose, PostgreSQL kept
    planning the list's statement on every execution at 1 M posts, and compiled a member's
    list page (its generic plan's cost past ``jit_above_cost``) in 35 ms every time."""
    connection.close()
    with connection.cursor() as cursor:
        cursor.execute("SHOW plan_cache_mode")
        assert cursor.fetchone() == ("force_generic_plan",)
        cursor.execute("SHOW jit")
        assert cursor.fetchone() == ("off",)


@pytest.mark.django_db(transaction=True)  # closes its connection
def test_a_rolled_back_transaction_or_a_new_session_never_loses_it():
    connection.close()  # a session of its own: nothing prepared on it yet
    with pytest.raises(RuntimeError), transaction.atomic():
        assert run(DOUBLE, n=1, word="a") == [(2, "a")]  # its first run: prepared here
        assert DOUBLE.name in prepared_here()
        raise RuntimeError  # rolled back: a prepared statement is not transactional
    assert run(DOUBLE, n=2, word="b") == [(4, "b")]
    connection.close()  # a new session: prepared afresh on it
    assert DOUBLE.name not in prepared_here()
    assert run(DOUBLE, n=3, word="c") == [(6, "c")]
    assert DOUBLE.name in prepared_here()


def test_a_session_that_has_it_already_is_not_asked_to_prepare_it_again():
    """A pooled session handed to another Django connection (or another object of the same
    statement) already holds it: it is used, never prepared twice (an error)."""
    assert run(DOUBLE, n=1, word="a") == [(2, "a")]
    twin = Prepared("test_double", DOUBLE.sql, [("n", "bigint"), ("word", "text")])
    assert twin.name == DOUBLE.name
    with CaptureQueriesContext(connection) as queries:
        assert run(twin, n=4, word="d") == [(8, "d")]
    assert len(queries) == 1


@pytest.mark.django_db(transaction=True)  # runs outside a transaction, as requests read
def test_a_statement_lost_under_a_live_connection_is_prepared_again():
    assert run(DOUBLE, n=1, word="a") == [(2, "a")]
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")  # as a pooler's reset, or an operator, would
    assert run(DOUBLE, n=2, word="b") == [(4, "b")]  # prepared again, run again
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")
    with pytest.raises(ProgrammingError), transaction.atomic():
        run(DOUBLE, n=3, word="c")  # inside a transaction: that transaction fails...
    assert run(DOUBLE, n=4, word="d") == [(8, "d")]  # ...and the next use prepares it


def test_a_new_text_is_a_new_name_and_every_parameter_needs_a_type():
    params = [("n", "bigint"), ("word", "text")]
    other = Prepared("test_double", "SELECT %(n)s * 3, %(word)s", params)
    assert other.name != DOUBLE.name
    with pytest.raises(ValueError, match="without a type"):
        Prepared("test_untyped", "SELECT %(n)s + %(m)s", [("n", "bigint")])


def test_the_hot_reads_run_prepared_statements(settings):
    """A signed-in reader's posts page and the thread list (the statements of
    ``forum.selectors`` and ``accounts.tokens``) run by name, for the public and a member
    alike, each answer the cache off's."""
    thread = make_thread(author=UserFactory(), title="Prepared")
    member = token_client(UserFactory())
    with CaptureQueriesContext(connection) as queries:
        for client in (APIClient(), member):
            for url in (
                "/api/v1/threads/",
                "/api/v1/threads/?page=last",
                f"/api/v1/threads/{thread.pk}/posts/",
            ):
                cached = [client.get(url).content for _ in range(3)]
                settings.HAVEN_PAGE_CACHE = False
                assert cached == [client.get(url).content] * 3
                settings.HAVEN_PAGE_CACHE = True
    executed = {q["sql"].split()[1] for q in queries if q["sql"].startswith("EXECUTE ")}
    ours = {
        selectors._PUBLIC_STATE.name,
        selectors._VIEWER_STATE.name,
        *(statement.name for pair in selectors._STATEMENTS.values() for statement in pair),
    }
    assert ours - executed == set()
    assert any(name.startswith("haven_user_row_") for name in executed)
    assert not any(q["sql"].startswith("PREPARE") for q in queries)  # never a request's query


@pytest.mark.django_db(transaction=True)  # a migration's change, outside a transaction
def test_a_statement_whose_columns_a_migration_changed_is_prepared_again():
    """PostgreSQL refuses to run a prepared statement whose result columns changed ("cached
    plan must not change result type"): the next use prepares it again and answers."""
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE haven_test_prepared (n integer)")
        cursor.execute("INSERT INTO haven_test_prepared VALUES (7)")
    try:
        rows = Prepared("test_rows", "SELECT n, %(m)s FROM haven_test_prepared", [("m", "int")])
        assert run(rows, m=1) == [(7, 1)]
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE haven_test_prepared ALTER COLUMN n TYPE text")
        assert run(rows, m=2) == [("7", 2)]
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE haven_test_prepared")
