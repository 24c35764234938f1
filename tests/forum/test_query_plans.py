"""Reads every page makes stay proportional to the page, not to the thread or the forum.

The statement a signed-in posts page runs for its state (``selectors._VIEWER_STATE``) is
run under ``EXPLAIN (ANALYZE)``, as prepared, with either plan, on a thread far larger than a
page, once for a viewer without a held post in it and once for one with one, and the rows
its plan read (rows every node returned, and rows it read and threw away: a filter's, a
recheck's) are counted: whichever plan PostgreSQL picks, a statement without an index for
its filter reads the whole thread and fails here."""

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from accounts.models import User
from core.database.prepared import Prepared
from forum import search, selectors, services, thread_lists
from forum.models import Like, Post, Thread
from tests.factories import UserFactory, make_thread

pytestmark = pytest.mark.django_db

POSTS = 3_000


def rows_read(statement: str | Prepared, params: dict[str, Any]) -> int:
    """The rows the plan of ``statement`` read, by every node, under ``EXPLAIN ANALYZE``. A
    statement prepared once a session (``core.database.prepared``) is explained as it runs,
    by name, with the plan its first executions get (for their values) and with its generic
    plan (every execution after): the more of the two."""
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE forum_post, forum_thread, forum_like, accounts_mute")
        if not isinstance(statement, Prepared):
            return _explained_rows(cursor, statement, params)
        statement.execute(cursor, params)  # prepared on this session, if it was not
        values = [params[name] for name in statement.names]
        read = []
        for mode in ("force_custom_plan", "force_generic_plan"):
            cursor.execute(f"SET plan_cache_mode = {mode}")
            read.append(_explained_rows(cursor, statement.execute_sql, values))
        cursor.execute("RESET plan_cache_mode")
        return max(read)


def _explained_rows(cursor: Any, sql: str, params: Any) -> int:
    cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}", params)
    (plan,) = cursor.fetchone()[0]

    def read(node: dict[str, Any]) -> int:
        own = node.get("Actual Rows", 0) * node.get("Actual Loops", 1)
        own += node.get("Rows Removed by Filter", 0) + node.get("Rows Removed by Index Recheck", 0)
        return own + sum(read(child) for child in node.get("Plans", []))

    return read(plan["Plan"])


@pytest.fixture
def long_thread() -> tuple[Thread, User]:
    """A thread of ``POSTS`` visible posts by many members, one of them the viewer, who liked
    every one of them, and a held post by someone else."""
    viewer = UserFactory()
    thread = make_thread(author=viewer)
    writers = [UserFactory() for _ in range(5)]
    now = timezone.now()
    Post.objects.bulk_create(
        Post(
            thread=thread,
            author=writers[n % len(writers)] if n % 7 else viewer,
            author_role=viewer.role,
            body=f"post {n}",
            body_html=f"<p>post {n}</p>",
            created_at=now,
            fanned_out_at=now,
        )
        for n in range(POSTS)
    )
    Post.objects.filter(pk=Post.objects.filter(thread=thread).order_by("-pk")[0].pk).update(
        status=Post.Status.PENDING, author=writers[0]
    )
    Like.objects.bulk_create(
        Like(user=viewer, post=post) for post in Post.objects.filter(thread=thread)
    )
    return thread, viewer


def _page_state_rows_read(thread: Thread, viewer: User, *, held: bool) -> int:
    """The rows the viewer's page-state statement read for the thread's first page, after
    checking what ``posts_page_state`` answers from it."""
    page = list(Post.objects.filter(thread=thread).order_by("created_at", "id")[:20])
    params = {
        "thread": thread.pk,
        "viewer": viewer.pk,
        "posts": [post.pk for post in page],
        "authors": list({post.author_id for post in page}),
    }
    state = selectors.posts_page_state(
        thread_id=thread.pk, viewer=viewer, post_ids=params["posts"], author_ids=params["authors"]
    )
    assert state is not None and state.held is held and state.liked == set(params["posts"])
    arrays = {name: selectors._bigint_array(params[name]) for name in ("posts", "authors")}
    return rows_read(selectors._VIEWER_STATE, {**params, **arrays})


def test_a_signed_in_page_state_reads_the_page_not_the_thread(long_thread):
    """Every signed-in posts page asks whether its viewer has a held post in the thread:
    answered from the held posts' index, however long the thread (it read all 3,000)."""
    thread, viewer = long_thread
    assert _page_state_rows_read(thread, viewer, held=False) < 100


def test_a_viewer_with_a_held_post_reads_the_page_not_the_thread(long_thread):
    """The viewer's own held post is found in the held posts' index too, not by reading her
    600 visible posts in the thread."""
    thread, viewer = long_thread
    Post.objects.create(
        thread=thread,
        author=viewer,
        author_role=viewer.role,
        body="waiting",
        body_html="<p>waiting</p>",
        status=Post.Status.PENDING,
    )
    assert _page_state_rows_read(thread, viewer, held=True) < 100


def test_the_held_status_is_written_in_the_statement():
    """A literal, not a parameter: the planner matches it to the partial index's predicate
    (``status = 'pending'``) whether the driver binds on the client or the server."""
    assert f"p.status = '{Post.Status.PENDING.value}'" in selectors._VIEWER_PAGE_STATE
    assert "%(pending)s" not in selectors._VIEWER_PAGE_STATE


THREADS = 6_000


@pytest.mark.parametrize(
    ("words", "in_titles", "in_posts"),
    [
        ("tamoxifen", THREADS // 2, THREADS // 2),  # in every thread: both groups dense
        ("tamoxifen", THREADS // 2, 0),  # in every other title, no posts-only match
    ],
)
def test_a_search_page_reads_the_page_not_the_forum(words, in_titles, in_posts):
    """A search page reads each group the way its size calls for (``forum.search``), never
    the forum: a common word's groups, read through their GIN index, read every match
    (6,000 here: this fails with ``BITMAP_MAX`` unbounded), and a page within one group
    reads that group alone. (The other way round, a rare word's empty group read in activity
    order, read every thread at 1 M posts: 772 ms. At a test's size reading every thread is
    PostgreSQL's cheapest plan for a rare word, so only ``bench/`` can measure that case:
    its rare-word row.) Matches alternate in activity order: even threads may match by
    title, odd ones by posts."""
    assert in_titles > search.BITMAP_MAX
    category = make_thread().category
    now = timezone.now()
    Thread.objects.bulk_create(
        Thread(category=category, title="A question", last_activity_at=now - timedelta(minutes=n))
        for n in range(THREADS)
    )
    newest_first = Thread.objects.filter(category=category, title="A question")
    rows = []
    for n, pk in enumerate(newest_first.order_by("-last_activity_at").values_list("pk", flat=True)):
        in_title = n % 2 == 0 and n // 2 < in_titles
        in_post = n % 2 == 1 and n // 2 < in_posts
        title = f"A {words} question" if in_title else "A question"
        rows.append((title, f"{title} {words if in_post else 'nothing'}", pk))
    with connection.cursor() as cursor:
        cursor.executemany(
            "UPDATE forum_thread SET title = %s, search_vector = to_tsvector('english', %s) "
            "WHERE id = %s",
            rows,
        )
    results = search.threads_matching(selectors.thread_list(viewer=None), words)
    assert results.count() == in_titles + in_posts
    page = thread_lists.page_keys(results)[0:20]
    statement, params = page.query.sql_with_params()
    assert len(list(page)) == min(20, in_titles + in_posts)
    assert rows_read(statement, params) < 300


def test_a_list_page_past_the_last_reads_no_thread():
    """The list's count and page keys in one statement (``selectors.ThreadPageKeys``): a page
    past the last reads the count and no thread, as the paginator answers it before slicing;
    a page within the list reads its own rows (and those it skips), not every thread."""
    author = UserFactory()
    category = make_thread(author=author).category
    Thread.objects.bulk_create(
        Thread(category=category, author=author, title=f"Thread {n}") for n in range(300)
    )
    services.thread_counts_fold()  # the log folded into the kept counts, as every minute
    statement = selectors._STATEMENTS[False][True]
    params = {"visible": "visible", "slug": None, "limit": 20}
    past = rows_read(statement, {**params, "offset": 10**9})
    first = rows_read(statement, {**params, "offset": 0})
    assert past < 20, past  # the count's few rows
    assert first < 200, first  # the page's 20 rows, counted at each node; not the 301 threads
