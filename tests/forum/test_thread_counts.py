"""The thread lists' count is each category's kept count of visible threads.

A trigger logs every thread entering or leaving a category's visible threads
(``forum.models.ThreadCountChange``), whoever writes it; readers add the log to the kept
counts, a periodic job folds it into them (``tests/forum/test_invalidation.py`` checks the
sum after every write kind). Here: creation, writes around the services, races with the
writes that lock categories, the fold, the admin, the repair, and that the lists answer byte
for byte what counting the rows answers, without counting them.
"""

import threading
import time
from typing import Any

import pytest
from django.contrib.admin import site
from django.core.management import call_command
from django.db import connection, transaction
from django.http import HttpRequest
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import privacy as accounts_privacy
from accounts.models import User
from accounts.roles import Role
from forum import pages, selectors, services, thread_lists
from forum.admin import ThreadAdmin
from forum.models import Category, Post, Thread, ThreadCountChange
from tests.factories import CategoryFactory, UserFactory, make_thread
from tests.utils import admin_form, race, thread_counts

pytestmark = pytest.mark.django_db

LIST = "/api/v1/threads/"


def _kept(category: Category) -> int:
    return selectors.visible_thread_count(category_slug=category.slug) or 0


def _assert_true() -> dict[str, int]:
    kept, real = thread_counts()
    assert kept == real
    return kept


@pytest.fixture
def board() -> dict[str, Any]:
    """Two categories: seven visible threads in one, three in the other, one held, one hidden."""
    peers = CategoryFactory(slug="peers", name="Peers")
    carers = CategoryFactory(slug="carers", name="Carers")
    members = [UserFactory() for _ in range(3)]
    threads = [
        make_thread(author=members[n % 3], category=peers, title=f"Peer thread {n}")
        for n in range(8)
    ]
    threads += [
        make_thread(author=members[n % 3], category=carers, title=f"Carer thread {n}")
        for n in range(3)
    ]
    moderator = UserFactory(role=Role.MODERATOR)
    opening = Post.objects.filter(thread=threads[0]).get()
    services.post_hide(actor=moderator, post=opening, reason="Spam")
    held_author = UserFactory()
    User.objects.filter(pk=held_author.pk).update(premoderated_indefinitely=True)
    held = make_thread(
        author=User.objects.get(pk=held_author.pk), category=peers, title="A held question"
    )
    return {"peers": peers, "carers": carers, "threads": threads, "held": held, "mod": moderator}


def test_a_new_thread_counts_in_its_category_and_a_held_one_only_once_approved(board):
    peers, held = board["peers"], board["held"]
    assert held.visibility == Thread.Visibility.PENDING
    assert _assert_true() == {"peers": 7, "carers": 3}

    services.post_hold_approve(actor=board["mod"], post=Post.objects.get(thread=held))

    assert _kept(peers) == 8
    _assert_true()


# --- The lists answer what counting answers ----------------------------------------------------

QUERIES = [
    {},
    {"category": "peers"},
    {"category": "carers"},
    {"category": "nobody-uses-this"},
    {"category": ""},
    {"page_size": "3"},
    {"page_size": "3", "page": "3"},
    {"page_size": "3", "page": "last"},
    {"category": "peers", "page_size": "2", "page": "4"},
    {"category": "carers", "page_size": "2", "page": "2"},
    {"status": "open"},
    {"category": "peers", "q": "thread"},
    {"unanswered": "false"},
    {"page_size": "3", "page": "9"},  # past the last page: 404, as before
]


@pytest.mark.parametrize("query", QUERIES, ids=lambda q: "&".join(f"{k}={v}" for k, v in q.items()))
def test_the_list_is_byte_identical_to_a_counted_one(board, query, monkeypatch):
    with override_settings(HAVEN_PAGE_CACHE=False):
        kept = APIClient().get(LIST, query)
        monkeypatch.setattr(thread_lists, "known_count", lambda params: None)
        counted = APIClient().get(LIST, query)
    assert (kept.status_code, kept.content) == (counted.status_code, counted.content)


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"page_size": "3", "page": "2"},
        {"page_size": "4", "page": "3"},  # the last page, partly full, by its number
        {"page_size": "4", "page": "last"},
        {"page_size": "3", "page": "9"},  # past the last: 404
        {"page": "1000000000"},  # far past it: 404, no thread read (test_query_plans)
        {"page": "100000000000000000000"},  # past any OFFSET PostgreSQL takes: 404
        {"format": "json"},
    ],
)
@pytest.mark.parametrize("viewer", ["public", "follower"])
def test_a_list_naming_no_filter_is_what_the_filter_backend_gives(board, query, viewer):
    """``ThreadListApi`` builds no ``FilterSet`` and no queryset for a query that names no
    filter (``selectors.ThreadPageKeys``): the same answer as through the filter backend (an
    empty filter spelled out), for the public and for a member following threads."""
    client = APIClient()
    tied = list(Thread.objects.order_by("pk").values_list("pk", flat=True)[:6])
    Thread.objects.filter(pk__in=tied).update(last_activity_at=timezone.now())  # ties: by id
    if viewer == "follower":
        member = UserFactory()
        for thread in list(Thread.objects.filter(visibility=Thread.Visibility.VISIBLE))[::3]:
            services.thread_follow(user=member, thread=thread)
        client.force_authenticate(member)
    with override_settings(HAVEN_PAGE_CACHE=False):
        quick = client.get(LIST, query)
        filtered = client.get(LIST, {**query, "q": ""})  # names a filter: the backend's
    # The links repeat the query as given: the filter spelled out is in them.
    spelled = filtered.content.replace(b"&q=", b"").replace(b"?q=&", b"?").replace(b"?q=", b"")
    assert (quick.status_code, quick.content) == (filtered.status_code, spelled)
    if query.get("page", "1") not in ("1", "2", "3", "last"):
        assert quick.status_code == 404
        return
    assert quick.status_code == 200 and quick.json()["count"] == 10
    if viewer == "follower" and "page" not in query:
        assert any(row["following"] for row in quick.json()["results"])


@pytest.mark.parametrize("query", [{}, {"page": "2"}, {"status": "closed"}, {"page": "3"}])
def test_the_category_page_is_identical_to_a_counted_one(board, query, monkeypatch):
    for n in range(20):  # two pages and a bit
        make_thread(category=board["peers"], title=f"More peer threads {n}")
    url = "/c/peers/"
    with override_settings(HAVEN_PAGE_CACHE=False):
        kept = Client().get(url, query)
        plain = pages.page_or_404
        monkeypatch.setattr(
            pages,
            "page_or_404",
            lambda items, per_page, number, count: plain(items, per_page, number),
        )
        counted = Client().get(url, query)
    assert (kept.status_code, kept.content) == (counted.status_code, counted.content)


def _counts_threads(sql: str) -> bool:
    return "COUNT(" in sql.upper() and '"forum_thread"' in sql


@pytest.mark.parametrize(
    ("query", "counted"),
    [
        ({}, False),
        ({"category": "peers"}, False),
        ({"status": "open"}, True),
        ({"author": "1"}, True),
        ({"unanswered": "true"}, True),
        ({"unanswered": "false"}, False),  # narrows nothing
        ({"q": "thread"}, True),
        ({"category": "peers", "q": "thread"}, True),
    ],
)
def test_only_a_narrowed_list_counts_its_threads(board, query, counted):
    with CaptureQueriesContext(connection) as queries:
        assert APIClient().get(LIST, query).status_code == 200
    assert any(_counts_threads(q["sql"]) for q in queries.captured_queries) is counted


def test_the_category_page_counts_nothing_unless_filtered(board):
    for query, counted in (({}, False), ({"status": "open"}, True)):
        with CaptureQueriesContext(connection) as queries:
            assert Client().get("/c/peers/", query).status_code == 200
        assert any(_counts_threads(q["sql"]) for q in queries.captured_queries) is counted


# --- Races ----------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_threads_created_at_once_in_one_category_all_count():
    peers = CategoryFactory(slug="peers", name="Peers")
    authors = [UserFactory() for _ in range(6)]

    def start(author: User) -> Any:
        return lambda: (
            [
                services.thread_create(
                    author=author, category=peers, title=f"At once {n}", body="Hello there"
                )
                for n in range(3)
            ]
            and None
        )

    assert race([start(a) for a in authors]) == []
    assert _kept(peers) == 18
    _assert_true()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("first", ["move", "hide"])
def test_a_move_and_a_hide_of_the_same_thread_count_once_in_either_order(first):
    """The first holds the thread while the second waits for it. A hide that waited on a move
    finds the thread moved (its lock joined the category it read before waiting: it used to
    lose the row and answer 404); either way the thread counts nowhere."""
    peers = CategoryFactory(slug="peers", name="Peers")
    carers = CategoryFactory(slug="carers", name="Carers")
    moderator = UserFactory(role=Role.MODERATOR)
    thread = make_thread(category=peers, title="Contested thread")
    opening = Post.objects.get(thread=thread)
    steps = {
        "move": lambda: services.thread_move(actor=moderator, thread=thread, category=carers),
        "hide": lambda: services.post_hide(actor=moderator, post=opening, reason="x"),
    }
    second = "hide" if first == "move" else "move"
    holding = threading.Event()

    def hold() -> None:
        with transaction.atomic():
            steps[first]()
            holding.set()
            time.sleep(0.5)  # the second waits for the thread meanwhile

    def wait() -> None:
        assert holding.wait(30)
        steps[second]()

    assert race([hold, wait]) == []
    assert Thread.objects.values_list("category_id", "visibility").get(pk=thread.pk) == (
        carers.pk,
        Thread.Visibility.HIDDEN,
    )
    assert _assert_true() == {"peers": 0, "carers": 0}


@pytest.mark.django_db(transaction=True)
def test_moves_across_in_both_directions_never_deadlock():
    """Two moderators move threads between two categories in opposite directions: each
    move locks both categories in id order, so neither waits on the other's."""
    peers = CategoryFactory(slug="peers", name="Peers")
    carers = CategoryFactory(slug="carers", name="Carers")
    moderators = [UserFactory(role=Role.MODERATOR) for _ in range(2)]
    there = [make_thread(category=peers, title=f"Peer thread {n}") for n in range(8)]
    back = [make_thread(category=carers, title=f"Carer thread {n}") for n in range(8)]

    def moves(actor: User, threads: list[Thread], to: Category) -> Any:
        return lambda: (
            [services.thread_move(actor=actor, thread=t, category=to) for t in threads] and None
        )

    assert race([moves(moderators[0], there, carers), moves(moderators[1], back, peers)]) == []
    assert _assert_true() == {"peers": 8, "carers": 8}


# --- The admin ------------------------------------------------------------------------------------


def _admin() -> Client:
    client = Client()
    client.force_login(UserFactory(is_superuser=True, is_staff=True))
    return client


def test_admin_deletes_count_only_visible_threads(board):
    client = _admin()
    threads = board["threads"]
    hidden, visible = threads[0], threads[1]
    response = client.post(f"/admin/forum/thread/{visible.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert _assert_true() == {"peers": 6, "carers": 3}

    response = client.post(
        "/admin/forum/thread/",
        {
            "action": "delete_selected",
            "_selected_action": [threads[2].pk, threads[9].pk],
            "post": "yes",
        },
    )
    assert response.status_code == 302
    assert _assert_true() == {"peers": 5, "carers": 2}

    # A hidden or held thread has review records the admin page may not delete; deleted all
    # the same, they count nothing (they were never counted in).
    gone = Thread.objects.filter(pk__in=[hidden.pk, board["held"].pk])
    ThreadAdmin(Thread, site).delete_queryset(HttpRequest(), gone)
    assert not gone.exists()
    assert _assert_true() == {"peers": 5, "carers": 2}


def test_an_admin_change_writes_back_no_count_loaded_before_a_fold(board, monkeypatch):
    """The category's change form was loaded with its kept count; a thread is created and the
    log folded before it is saved: the save writes the fields typed in, never the count it
    loaded."""
    from forum.admin import CategoryAdmin

    peers = board["peers"]
    client = _admin()
    url = f"/admin/forum/category/{peers.pk}/change/"
    data = admin_form(client, url, name="Peers together")
    load = CategoryAdmin.get_object

    def load_then_a_thread(self: Any, request: Any, object_id: str, from_field: Any = None) -> Any:
        obj = load(self, request, object_id, from_field)
        if request.method == "POST":
            make_thread(category=peers, title="Created meanwhile")
            assert services.thread_counts_fold() > 0
        return obj

    monkeypatch.setattr(CategoryAdmin, "get_object", load_then_a_thread)
    assert client.post(url, data).status_code == 302
    assert Category.objects.get(pk=peers.pk).name == "Peers together"
    assert _assert_true()["peers"] == 8


def test_an_admin_retitle_or_a_new_category_counts_nothing_new(board):
    client = _admin()
    thread = board["threads"][3]
    url = f"/admin/forum/thread/{thread.pk}/change/"
    assert client.post(url, admin_form(client, url, title="A new title")).status_code == 302
    add = "/admin/forum/category/add/"
    response = client.post(add, admin_form(client, add, name="New", slug="new", position="5"))
    assert response.status_code == 302
    assert _assert_true() == {"peers": 7, "carers": 3, "new": 0}


# --- The repair -----------------------------------------------------------------------------------


def test_recount_threads_repairs_a_count_written_around_the_services(board, capsys):
    peers, carers = board["peers"], board["carers"]
    services.thread_counts_fold()
    Category.objects.filter(pk=peers.pk).update(visible_thread_count=100)
    Category.objects.filter(pk=carers.pk).update(visible_thread_count=0)
    assert APIClient().get(LIST, {"category": "carers"}).json()["count"] == 0  # it is believed

    call_command("recount_threads")

    assert "2 categories recounted" in capsys.readouterr().out
    assert _assert_true() == {"peers": 7, "carers": 3}
    assert APIClient().get(LIST, {"category": "carers"}).json()["count"] == 3
    assert services.thread_counts_recount() == 0  # already right: nothing written


# --- Writes around the services, and the writes that lock categories ------------------------


def test_writes_around_the_services_are_counted_too(board):
    """The trigger counts whoever writes: SQL by hand, a queryset update, a cascade."""
    carers = board["carers"]
    threads = board["threads"]
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE forum_thread SET visibility = 'hidden' WHERE id = %s", [threads[1].pk]
        )
    Thread.objects.filter(pk__in=[threads[2].pk, threads[3].pk]).update(category=carers)
    Thread.objects.filter(pk=threads[4].pk).update(title="Retitled")  # counts nothing
    assert _assert_true() == {"peers": 4, "carers": 5}
    services.thread_counts_fold()
    threads[5].author.delete()  # her threads stay, authorless
    CategoryFactory(slug="gone").delete()
    Thread.objects.filter(pk=threads[6].pk).delete()
    assert _assert_true() == {"peers": 3, "carers": 5}


def test_the_fold_keeps_every_sum_and_empties_the_log(board):
    before = _assert_true()
    logged = ThreadCountChange.objects.count()
    assert logged >= 10
    assert services.thread_counts_fold() == logged
    assert ThreadCountChange.objects.count() == 0
    assert _assert_true() == before
    assert services.thread_counts_fold() == 0


def test_the_periodic_job_folds_both_logs(board):
    from forum.search import search_generation
    from forum.tasks import fold_count_logs

    logged = ThreadCountChange.objects.count()
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM forum_search_change")
        (searched,) = cursor.fetchone()
    generation = search_generation()
    assert logged > 0 and searched > 1
    assert fold_count_logs.apply().get() == logged + searched
    assert ThreadCountChange.objects.count() == 0
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM forum_search_change")
        assert cursor.fetchone() == (1,)
    assert search_generation() == generation
    _assert_true()


@pytest.mark.django_db(transaction=True)
def test_folds_beside_writers_and_each_other_count_each_change_once():
    peers = CategoryFactory(slug="peers", name="Peers")
    authors = [UserFactory() for _ in range(4)]

    def write(author: User) -> Any:
        return lambda: (
            [
                make_thread(author=author, category=peers, title=f"Thread {n}") and None
                for n in range(5)
            ]
            and None
        )

    def folds() -> None:
        for _ in range(10):
            services.thread_counts_fold()

    assert race([*(write(a) for a in authors), folds, folds]) == []
    assert _assert_true() == {"peers": 20}
    services.thread_counts_fold()
    assert ThreadCountChange.objects.count() == 0
    assert Category.objects.get(pk=peers.pk).visible_thread_count == 20


@pytest.mark.django_db(transaction=True)
def test_a_fold_while_another_runs_waits_for_nothing():
    peers = CategoryFactory(slug="peers", name="Peers")
    make_thread(category=peers)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [services._FOLD_LOCK])
        assert race([lambda: _fold_expecting(0)]) == []
    _fold_expecting(1)


def _fold_expecting(folded: int) -> None:
    assert services.thread_counts_fold() == folded


@pytest.mark.django_db(transaction=True)
def test_a_new_thread_committing_after_the_erasure_of_its_author_began_never_deadlocks():
    """A reviewer's deadlock: a new thread counted by locking its category row, then its key
    share-locking the author's row at the commit, while an erasure of her held her row and
    waited for the category. Here the thread's transaction stays open until the erasure has
    taken her row: it must still commit, and the erasure too."""
    peers = CategoryFactory(slug="peers", name="Peers")
    author = UserFactory()
    make_thread(author=author, category=peers, title="Her first thread")
    created = threading.Event()

    def create() -> None:
        with transaction.atomic():
            make_thread(author=author, category=peers, title="Written as she erases")
            created.set()
            time.sleep(1)  # the erasure takes her row meanwhile

    def erase() -> None:
        assert created.wait(30)
        accounts_privacy.member_erase(user=User.objects.get(pk=author.pk), delete_posts=True)

    assert race([create, erase]) == []
    _assert_true()


@pytest.mark.django_db(transaction=True)
def test_a_category_update_racing_a_move_out_of_it_never_deadlocks():
    """A reviewer's deadlock: ``category_ensure`` holds the category row, then locks its
    threads; a move holding one of them then locked the category to count."""
    peers = CategoryFactory(slug="peers", name="Peers")
    carers = CategoryFactory(slug="carers", name="Carers")
    moderator = UserFactory(role=Role.MODERATOR)
    thread = make_thread(category=peers, title="Moving thread")
    held = threading.Event()

    def ensure() -> None:
        with transaction.atomic():
            # ``category_ensure``'s own first lock (``update_or_create``), held a moment.
            Category.objects.select_for_update().get(pk=peers.pk)
            held.set()
            time.sleep(1)  # the move takes the thread meanwhile
            services.category_ensure(
                slug="peers",
                name="Peers renamed",
                description="",
                position=0,
                nurse_answered=False,
            )

    def move() -> None:
        assert held.wait(30)
        services.thread_move(actor=moderator, thread=thread, category=carers)

    assert race([ensure, move]) == []
    assert _assert_true() == {"peers": 0, "carers": 1}
