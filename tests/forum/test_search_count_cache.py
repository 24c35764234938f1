"""A search's count is cached under the search generation (``forum.search.search_generation``)
and stays exact: every kind of write that changes what a search counts moves it on.

These tests commit (``transaction=True``): counts are never cached inside a transaction.
"""

import itertools

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts import privacy as accounts_privacy
from accounts.models import User
from accounts.roles import Role
from forum import services
from forum.models import Category, Thread
from forum.search import search_changes_fold, search_generation
from moderation import answers, demo
from tests.factories import CategoryFactory, UserFactory, make_reply, make_thread
from tests.utils import race

pytestmark = pytest.mark.django_db(transaction=True)


_addresses = (f"10.8.{n // 250}.{n % 250 + 1}" for n in itertools.count())


def _searched(params: dict[str, str]) -> tuple[int, bool, int]:
    """The API's count for ``params``, whether it was counted (not read from the cache), and
    the queries the request made."""
    # Each from its own address: the anonymous throttle (120 a minute) is not under test.
    address = next(_addresses)
    with CaptureQueriesContext(connection) as queries:
        response = APIClient().get("/api/v1/threads/", params, REMOTE_ADDR=address)
    assert response.status_code == 200
    counted = any("SELECT COUNT(*)" in q["sql"] for q in queries.captured_queries)
    return response.json()["count"], counted, len(queries.captured_queries)


def _real(params: dict[str, str]) -> int:
    threads = Thread.objects.filter(
        visibility=Thread.Visibility.VISIBLE,
        search_vector=_query(params["q"]),
    )
    if "category" in params:
        threads = threads.filter(category__slug=params["category"])
    if "status" in params:
        threads = threads.filter(status=params["status"])
    if params.get("unanswered") == "true":
        threads = threads.filter(
            category__nurse_answered=True, nurse_answered_at__isnull=True, status="open"
        )
    if "author" in params:
        threads = threads.filter(author_id=int(params["author"]), author_role=Role.MEMBER)
    return threads.count()


def _query(text: str):
    from django.contrib.postgres.search import SearchQuery

    return SearchQuery(text, config="english", search_type="websearch")


def test_every_write_that_changes_a_search_count_moves_the_generation_on():
    """Each write kind, then every search (words, category, status, unanswered, author)
    counted and asked again from the cache. The later steps each change a count (asserted),
    so each fails if its trigger misses it: dropping the thread trigger's DELETE fails at
    "thread deleted", its ``nurse_answered_at`` at "the answered mark alone", its
    ``author_id`` at "author deleted", the category trigger's ``nurse_answered`` at "a
    category's nurse_answered" (each tried)."""
    demo.install()  # the support services a nurse answer signposts
    author, moderator = UserFactory(), UserFactory(role=Role.MODERATOR)
    leaver, erased, quiet = UserFactory(), UserFactory(), UserFactory()
    nurse = UserFactory(role=Role.NURSE)
    peers, other = CategoryFactory(), CategoryFactory()
    nurses = CategoryFactory(nurse_answered=True)
    kept = make_thread(author=author, category=peers, title="Tamoxifen and sleep", body="Hi")
    thread = make_thread(author=author, category=peers, title="Scans", body="Waiting")
    question = make_thread(author=author, category=nurses, title="Tamoxifen and hot flushes?")
    make_thread(author=leaver, category=peers, title="Leaving tamoxifen", body="Bye")
    make_thread(author=erased, category=nurses, title="Tamoxifen for how long?")
    make_thread(author=quiet, category=peers, title="Tamoxifen and my job", body="Hi")
    searches = [
        {"q": "tamoxifen"},
        {"q": "tamoxifen", "category": peers.slug},
        {"q": "tamoxifen", "status": "open"},
        {"q": "tamoxifen", "unanswered": "true"},
        {"q": "tamoxifen", "author": str(author.pk)},
        {"q": "tamoxifen", "author": str(leaver.pk)},
        {"q": "tamoxifen", "author": str(erased.pk)},
        {"q": "tamoxifen", "author": str(quiet.pk)},
    ]

    def check(step: str) -> None:
        for params in searches:
            assert _searched(params)[0] == _real(params), (step, params)
            # Asked again with nothing written: the cache answers, still exact: the
            # generation, then the page's keys (none to read for no match).
            count, counted, queries = _searched(params)
            assert (count, counted) == (_real(params), False), (step, params)
            assert queries == (2 if count else 1), (step, params)

    def counts() -> list[int]:
        return [_real(params) for params in searches]

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
    more = make_thread(author=author, category=peers, title="More tamoxifen", body="Hi")
    check("new thread")
    Category.objects.filter(pk=other.pk).update(slug="renamed")
    Category.objects.filter(pk=peers.pk).update(slug=other.slug)
    check("a category's slug given to another")
    # Each write below changes a count the cache holds (else the step proves nothing).
    before = counts()
    answers.nurse_answer_create(
        nurse=nurse, thread=question, body="Hot flushes are common.", signposts=[], close=False
    )
    assert counts() != before
    check("nurse answer (unanswered=true)")
    # The answer also indexes its text: the answered mark alone, as an admin's edit sets it.
    before = counts()
    Thread.objects.filter(pk=question.pk).update(nurse_answered_at=None)
    assert counts() != before
    check("the answered mark alone (unanswered=true)")
    before = counts()
    Category.objects.filter(pk=peers.pk).update(nurse_answered=True)
    assert counts() != before
    check("a category's nurse_answered")
    before = counts()
    User.objects.filter(pk=leaver.pk).delete()  # her threads' author set to NULL
    assert counts() != before
    check("author deleted (author=)")
    accounts_privacy.member_erase(user=quiet)  # her posts stay, as "Former member"
    check("erasure, her posts kept")
    make_reply(author=erased, thread=thread, body="Tamoxifen here too.")
    check("her reply indexed")
    before = counts()
    accounts_privacy.member_erase(user=erased, delete_posts=True)
    assert counts() != before
    check("erasure with her posts (her thread and her reply gone)")
    before = counts()
    Thread.objects.filter(pk=more.pk).delete()  # a thread that matches
    assert counts() != before
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


def _log_rows() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM forum_search_change")
        return int(cursor.fetchone()[0])


def _changed() -> None:
    """A committed statement the change log records (no row matches: nothing else moves)."""
    Thread.objects.filter(pk=0).update(status="open")


def test_a_fold_leaves_one_row_and_the_generation_as_it_was():
    for _ in range(5):
        _changed()
    generation, rows = search_generation(), _log_rows()
    assert rows >= 6
    assert search_changes_fold() == rows
    assert _log_rows() == 1
    assert search_generation() == generation
    assert search_changes_fold() == 0  # one row: nothing to fold
    _changed()
    assert search_generation() == generation + 1


def test_two_folds_at_once_and_a_writer_between_keep_the_sum():
    """The first fold holds its deleted rows (its transaction open) while a writer commits
    and a second fold starts: the second waits, skips what the first folded, folds only the
    writer's row; a reader meanwhile sees the generation before the first fold."""
    import threading
    import time

    from django.db import transaction

    for _ in range(4):
        _changed()
    start, rows = search_generation(), _log_rows()
    folding, folded = threading.Event(), {}

    def first() -> None:
        with transaction.atomic():
            folded["first"] = search_changes_fold()
            folding.set()
            time.sleep(1)  # uncommitted: the others still see the log as it was

    def second() -> None:
        folding.wait(10)
        _changed()  # committed while the first fold is open
        folded["reader"] = search_generation()
        folded["second"] = search_changes_fold()  # waits for the first to commit

    assert race([first, second]) == []
    assert folded["first"] == rows
    assert folded["reader"] == start + 1  # the first fold's rows, not yet deleted, counted
    assert folded["second"] == 1  # the writer's row only
    assert search_generation() == start + 1
    assert _log_rows() == 2


def test_folds_racing_writers_never_move_the_generation_but_by_the_writes():
    """Folds, writers and a reader at once: the reader never sees the generation go back,
    and in the end it moved by the writers' statements exactly."""
    start = search_generation()
    assert start is not None
    writes, seen = 40, []

    def writer() -> None:
        for _ in range(writes):
            _changed()

    def folder() -> None:
        for _ in range(writes):
            search_changes_fold()

    def reader() -> None:
        for _ in range(writes * 2):
            seen.append(search_generation())

    assert race([writer, writer, folder, folder, reader]) == []
    assert seen == sorted(seen) and start <= seen[0] and seen[-1] <= start + 2 * writes
    assert search_generation() == start + 2 * writes
    search_changes_fold()
    assert _log_rows() == 1 and search_generation() == start + 2 * writes
