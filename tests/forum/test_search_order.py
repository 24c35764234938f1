"""Search's order and count at any size: titles first, each group newest activity first, read
from indexes a page at a time (``forum.search.SearchResults``)."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from forum.models import Thread
from tests.factories import UserFactory, make_reply, make_thread

pytestmark = pytest.mark.django_db


def _page(q: str, **params: object) -> dict:
    response = APIClient().get("/api/v1/threads/", {"q": q, **params})
    assert response.status_code == 200
    return response.json()


def _aged(thread: Thread, minutes: int) -> Thread:
    Thread.objects.filter(pk=thread.pk).update(
        last_activity_at=timezone.now() - timedelta(minutes=minutes)
    )
    return thread


def test_every_title_match_beats_every_body_match_whatever_their_activity():
    author = UserFactory()
    # Bodies-only matches, newer than every title match; more of them than a page.
    in_body = [
        _aged(make_thread(author=author, title=f"Week {n}", body="Started tamoxifen."), n)
        for n in range(25)
    ]
    in_title = [
        _aged(make_thread(author=author, title=f"Tamoxifen question {n}", body="Hi"), 100 + n)
        for n in range(3)
    ]
    make_thread(author=author, title="Unrelated", body="Nothing here")
    first = _page("tamoxifen", page_size=5)
    assert first["count"] == 28  # exact: every match, counted once
    ids = [row["id"] for row in first["results"]]
    # The title group first, newest activity first; then the bodies, newest first.
    assert ids == [t.pk for t in in_title] + [in_body[0].pk, in_body[1].pk]
    second = _page("tamoxifen", page_size=5, page=2)
    assert [row["id"] for row in second["results"]] == [t.pk for t in in_body[2:7]]
    # Every page together: each match exactly once, in the promised order.
    seen = []
    for page in range(1, 7):
        seen += [row["id"] for row in _page("tamoxifen", page_size=5, page=page)["results"]]
    assert seen == [t.pk for t in in_title] + [t.pk for t in in_body]


def test_a_reply_moves_a_thread_up_within_its_group_only():
    author = UserFactory()
    old_title = _aged(make_thread(author=author, title="Zoladex injections", body="Hi"), 50)
    new_title = _aged(make_thread(author=author, title="Zoladex and sleep", body="Hi"), 10)
    in_body = _aged(make_thread(author=author, title="Hot flushes", body="On zoladex now"), 5)
    assert [r["id"] for r in _page("zoladex")["results"]] == [
        new_title.pk,
        old_title.pk,
        in_body.pk,
    ]
    make_reply(author=UserFactory(), thread=old_title, body="Same here")
    make_reply(author=UserFactory(), thread=in_body, body="Me too")
    assert [r["id"] for r in _page("zoladex")["results"]] == [
        old_title.pk,
        new_title.pk,
        in_body.pk,
    ]


def test_the_title_vector_follows_the_title_whoever_writes_it():
    thread = make_thread(author=UserFactory(), title="About scans", body="Hello")
    Thread.objects.filter(pk=thread.pk).update(title="About letrozole")  # no service
    with connection.cursor() as cursor:
        cursor.execute("SELECT title_vector::text FROM forum_thread WHERE id = %s", [thread.pk])
        (vector,) = cursor.fetchone()
    assert "letrozol" in vector and "scan" not in vector


def test_the_count_is_read_through_the_gin_index():
    make_thread(author=UserFactory(), title="Tamoxifen", body="Hello")
    with connection.cursor() as cursor:
        cursor.execute(
            "SET LOCAL enable_seqscan = off; EXPLAIN SELECT COUNT(*) FROM forum_thread "
            "WHERE search_vector @@ websearch_to_tsquery('english', 'tamoxifen'); "
            "RESET enable_seqscan"
        )
        while cursor.description is None and cursor.nextset():
            pass
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "forum_thread_search_gin" in plan
    assert _page("tamoxifen")["count"] == 1


def test_a_search_page_reads_a_page_of_each_group_not_every_match():
    author = UserFactory()
    for n in range(30):
        make_thread(author=author, title=f"Week {n}", body="tamoxifen")
    for n in range(10):
        make_thread(author=author, title=f"Tamoxifen {n}", body="Hello")
    # Page 2 lies in the posts-only group (its rows 10 to 30): that group alone is read.
    with CaptureQueriesContext(connection) as queries:
        assert len(_page("tamoxifen", page=2)["results"]) == 20
    assert not any("UNION ALL" in q["sql"] for q in queries.captured_queries)
    # Page 1 holds both groups: one union, each part limited to the page's end.
    with CaptureQueriesContext(connection) as queries:
        assert len(_page("tamoxifen")["results"]) == 20
    captured = [q["sql"] for q in queries.captured_queries]
    union = [sql for sql in captured if "UNION ALL" in sql]
    assert len(union) == 1
    # Each group is limited to the page's end: PostgreSQL never reads every match.
    assert union[0].count("LIMIT 20") == 3
    assert not any("ts_rank" in sql for sql in captured)
    # Each group checks the title's small vector before the large one.
    for part in union[0].split("UNION ALL"):
        where = part.split("WHERE", 1)[1]
        assert where.index("title_vector") < where.index("search_vector")


def test_read_whole_the_results_come_in_the_order_of_their_pages():
    from forum import selectors
    from forum.search import threads_matching

    author = UserFactory()
    in_body = _aged(make_thread(author=author, title="Week one", body="Zoladex today"), 1)
    in_title = _aged(make_thread(author=author, title="Zoladex", body="Hi"), 60)
    found = threads_matching(selectors.thread_list(viewer=None), "zoladex")
    assert [t.pk for t in found] == [in_title.pk, in_body.pk]
    assert found.first().pk == in_title.pk
    assert found[0].pk == in_title.pk and found[1].pk == in_body.pk
    with pytest.raises(IndexError):
        found[2]
    assert found.count() == 2


def test_the_union_is_ordered_by_the_outer_query():
    """A ``UNION ALL`` has no order of its own: the page is ordered around it, by each row's
    group (0: title, 1: posts only), then its activity, then its id; each part selects
    them, and the rows asked for come back without them."""
    from forum import selectors
    from forum.search import threads_matching

    author = UserFactory()
    for n in range(3):
        _aged(make_thread(author=author, title=f"Week {n}", body="Letrozole today"), n)
    in_title = _aged(make_thread(author=author, title="Letrozole", body="Hi"), 60)
    _aged(make_thread(author=author, title="Letrozole again", body="Hi"), 61)
    found = threads_matching(selectors.thread_list(viewer=None), "letrozole")
    page = found[1:3]  # the second title match, then a posts-only one: both groups
    sql = str(page.query)
    outer = sql[sql.rindex(")") :]  # after the last part of the union
    assert outer.startswith(")") and "ORDER BY" in outer, sql
    assert outer.index("ORDER BY") < outer.index("LIMIT") < outer.index("OFFSET"), sql
    for part in sql.split("UNION ALL"):
        assert "search_group" in part, sql
    keys = list(found.values_list("pk", "version")[0:2])
    assert keys[0] == (in_title.pk, in_title.version) and len(keys[1]) == 2
    assert list(found.values_list("pk", flat=True)[0:1]) == [in_title.pk]
    assert set(found.values("pk")[0]) == {"pk"}


def test_a_search_cannot_be_reversed_nor_its_last_taken():
    """Its pages are read one way from indexes: ``reverse()`` and ``last()`` (which reverses)
    refuse, rather than answer with the first row."""
    from forum import selectors
    from forum.search import threads_matching

    author = UserFactory()
    make_thread(author=author, title="Letrozole", body="Hi")
    make_thread(author=author, title="Week one", body="Letrozole")
    found = threads_matching(selectors.thread_list(viewer=None), "letrozole")
    with pytest.raises(TypeError, match="reversed"):
        found.reverse()
    with pytest.raises(TypeError, match="reversed"):
        found.last()
    with pytest.raises(TypeError, match="step"):
        found[::2]
    assert [t.title for t in found] == ["Letrozole", "Week one"]
