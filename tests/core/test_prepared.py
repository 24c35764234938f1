"""Statements prepared once per PostgreSQL session (core.database.prepared)."""

import pytest
from django.db import connection, transaction
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
    generic, custom = prepared_here()[DOUBLE.name]
    assert generic + custom == 12 and generic >= 6  # a generic plan from the sixth on


@pytest.mark.django_db(transaction=True)  # closes its connection
def test_a_rolled_back_transaction_or_a_new_session_never_loses_it():
    with pytest.raises(RuntimeError), transaction.atomic():
        assert run(DOUBLE, n=1, word="a") == [(2, "a")]  # its first run: prepared here
        raise RuntimeError  # rolled back: a prepared statement is not transactional
    assert run(DOUBLE, n=2, word="b") == [(4, "b")]
    connection.close()  # a new session: prepared afresh on it
    assert run(DOUBLE, n=3, word="c") == [(6, "c")]
    assert DOUBLE.name in prepared_here()


def test_a_new_text_is_a_new_name_and_every_parameter_needs_a_type():
    params = [("n", "bigint"), ("word", "text")]
    other = Prepared("test_double", "SELECT %(n)s * 3, %(word)s", params)
    assert other.name != DOUBLE.name
    with pytest.raises(ValueError, match="without a type"):
        Prepared("test_untyped", "SELECT %(n)s + %(m)s", [("n", "bigint")])


def test_the_hot_reads_run_prepared_statements(settings):
    """A signed-in reader's posts page and the thread list (the statements of
    ``forum.selectors`` and ``accounts.tokens``) run by name once the session prepared
    them, for the public and a member alike, each answer the cache off's."""
    thread = make_thread(author=UserFactory(), title="Prepared")
    member = token_client(UserFactory())
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
    names = set(prepared_here())
    ours = {
        selectors._PUBLIC_STATE.name,
        selectors._VIEWER_STATE.name,
        *(statement.name for pair in selectors._STATEMENTS.values() for statement in pair),
    }
    assert ours - names == set()
    assert any(name.startswith("haven_user_row_") for name in names)
