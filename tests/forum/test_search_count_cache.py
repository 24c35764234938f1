"""A search's count is cached under the search generation (``forum.search.search_generation``)
and stays exact: every kind of write that changes what a search counts moves it on.

These tests commit (``transaction=True``): counts are never cached inside a transaction.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts.roles import Role
from forum import services
from forum.models import Category, Thread
from forum.search import search_generation
from tests.factories import CategoryFactory, UserFactory, make_reply, make_thread

pytestmark = pytest.mark.django_db(transaction=True)


def _searched(params: dict[str, str]) -> tuple[int, bool]:
    """The API's count for ``params`` and whether it was counted (not read from the cache)."""
    with CaptureQueriesContext(connection) as queries:
        response = APIClient().get("/api/v1/threads/", params)
    assert response.status_code == 200
    counted = any("SELECT COUNT(*)" in q["sql"] for q in queries.captured_queries)
    count = response.json()["count"]
    if not counted:  # the generation, then the page's keys (none to read for no match)
        assert len(queries.captured_queries) == (2 if count else 1), queries.captured_queries
    return count, counted


def _real(params: dict[str, str]) -> int:
    threads = Thread.objects.filter(
        visibility=Thread.Visibility.VISIBLE,
        search_vector=_query(params["q"]),
    )
    if "category" in params:
        threads = threads.filter(category__slug=params["category"])
    if "status" in params:
        threads = threads.filter(status=params["status"])
    return threads.count()


def _query(text: str):
    from django.contrib.postgres.search import SearchQuery

    return SearchQuery(text, config="english", search_type="websearch")


def test_every_write_that_changes_a_search_count_moves_the_generation_on():
    author, moderator = UserFactory(), UserFactory(role=Role.MODERATOR)
    nurse = UserFactory(role=Role.NURSE)
    peers, other = CategoryFactory(), CategoryFactory()
    kept = make_thread(author=author, category=peers, title="Tamoxifen and sleep", body="Hi")
    thread = make_thread(author=author, category=peers, title="Scans", body="Waiting")
    searches = [
        {"q": "tamoxifen"},
        {"q": "tamoxifen", "category": peers.slug},
        {"q": "tamoxifen", "status": "open"},
    ]

    def check(step: str) -> None:
        for params in searches:
            assert _searched(params)[0] == _real(params), (step, params)
            # Asked again with nothing written: the cache answers, still exact.
            count, counted = _searched(params)
            assert (count, counted) == (_real(params), False), (step, params)

    check("start")
    reply = make_reply(author=author, thread=thread, body="I take tamoxifen.")  # fanned out
    check("reply indexed")
    services.post_edit(user=author, post=reply, body="I take letrozole.")
    check("edit")
    services.post_edit(user=author, post=reply, body="Back on tamoxifen.")
    check("edit back")
    services.thread_move(actor=moderator, thread=thread, category=other)
    check("move")
    services.thread_close(actor=nurse, thread=kept, reason="Answered")
    check("close")
    opening = kept.posts.order_by("created_at", "id").first()
    services.post_hide(actor=moderator, post=opening, reason="Spam")
    check("hide")
    services.post_restore(actor=moderator, post=opening)
    check("restore")
    services.post_delete(user=author, post=reply)
    check("delete")
    make_thread(author=author, category=peers, title="More tamoxifen", body="Hi")
    check("new thread")
    Category.objects.filter(pk=other.pk).update(slug="renamed")
    Category.objects.filter(pk=peers.pk).update(slug=other.slug)
    check("a category's slug given to another")
    Thread.objects.filter(pk=thread.pk).delete()
    check("thread deleted")


def test_a_write_outside_the_services_moves_it_on_too():
    before = search_generation()
    assert before is not None
    Thread.objects.filter(pk=0).update(visibility=Thread.Visibility.HIDDEN)  # no row at all
    assert search_generation() > before
    unchanged = search_generation()
    Thread.objects.filter(pk=0).update(version=1)  # nothing a search counts
    assert search_generation() == unchanged


def test_the_change_log_is_folded_without_moving_the_generation(monkeypatch):
    from forum import search

    monkeypatch.setattr(search, "_COMPACT_AFTER", 3)
    for _ in range(5):
        Thread.objects.filter(pk=0).update(status="open")
    generation = search_generation()  # reads 6+ rows, then folds them
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM forum_search_change")
        assert cursor.fetchone()[0] == 1
    assert search_generation() == generation


def test_inside_a_transaction_nothing_is_cached():
    from django.db import transaction

    with transaction.atomic():
        assert search_generation() is None
