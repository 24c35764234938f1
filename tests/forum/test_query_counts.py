"""Query budgets: each endpoint costs the same few queries with 3 rows or 60.

Signed-in clients authenticate with a real X-Session-Token (the session is read from the
cache, the user from PostgreSQL), exactly as the app client does.
"""

import pytest
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import Mute, User
from accounts.roles import Role
from forum import policy
from forum.models import Like, Notification, Post, Subscription
from forum.policy import Screening
from forum.services import post_create, post_hide, post_like
from tests.factories import CategoryFactory, UserFactory, make_reply, make_thread
from tests.utils import token_client

pytestmark = pytest.mark.django_db


def _forum(size: int):
    """``size`` threads, a big thread with ``size`` posts, likes and followers."""
    viewer = UserFactory(display_name="Viewer")
    others = [UserFactory() for _ in range(4)]
    big = make_thread(author=others[0], title="The big thread")
    moderator = UserFactory(role=Role.MODERATOR)
    for n in range(size):
        post = post_create(author=others[n % 4], thread=big, body=f"Reply {n}")
        if n % 2:
            post_like(user=viewer, post=post)
    # Held and hidden posts, a muted author and crisis signposting on the viewer's own posts.
    Mute.objects.bulk_create(
        [Mute(user=viewer, muted=others[1]), Mute(user=viewer, muted=others[2])]
    )
    post_hide(actor=moderator, post=post_create(author=others[3], thread=big, body="Hidden"))
    User.objects.filter(pk=others[2].pk).update(premoderated_indefinitely=True)
    post_create(author=User.objects.get(pk=others[2].pk), thread=big, body="Held")
    with policy.registered(screens=(lambda user, text: Screening(safeguarding="crisis" in text),)):
        for n in range(3):
            post_create(author=viewer, thread=big, body=f"crisis {n}")
    for n in range(size):
        make_thread(author=others[n % 4], title=f"Another thread {n}")
    Subscription.objects.bulk_create(
        [Subscription(user=UserFactory(), thread=big) for _ in range(size)]
    )
    Subscription.objects.get_or_create(user=viewer, thread=big)
    make_reply(author=others[0], thread=big, body="one more for the viewer's notifications")
    return viewer, big


@pytest.mark.parametrize("size", [3, 60])
@pytest.mark.parametrize("signed_in", [False, True])
def test_forum_endpoints_have_constant_query_counts(size, signed_in, django_assert_num_queries):
    viewer, big = _forum(size)
    client = token_client(viewer) if signed_in else APIClient()
    auth = 1 if signed_in else 0  # the user row behind the session token

    # The count and the page's keys (ids, versions, following), in one statement for the
    # list naming no filter (forum.selectors.ThreadPageKeys); its full rows only when the
    # page is not cached (forum.thread_lists).
    with django_assert_num_queries(2 + auth):
        response = client.get("/api/v1/threads/")
    assert response.status_code == 200
    assert len(response.json()["results"]) == min(20, size + 1)
    assert any(row["following"] for row in response.json()["results"]) is signed_in
    with django_assert_num_queries(1 + auth):
        assert client.get("/api/v1/threads/").content == response.content
    with django_assert_num_queries(2 + auth):  # any page asked for by number (a miss)
        second = client.get("/api/v1/threads/", {"page_size": 2, "page": 2})
    assert [r["id"] for r in second.json()["results"]] == [
        r["id"] for r in response.json()["results"][2:4]
    ]

    # One category's list: its kept count (forum.thread_lists.known_count), never a COUNT.
    category = {"category": big.category.slug}
    with django_assert_num_queries(3 + auth):
        response = client.get("/api/v1/threads/", category)
    assert response.json()["count"] == 1
    with django_assert_num_queries(2 + auth):
        assert client.get("/api/v1/threads/", category).content == response.content

    with django_assert_num_queries(1 + auth):
        assert client.get(f"/api/v1/threads/{big.pk}/").status_code == 200

    # The viewer's own crisis posts are on the first page of the small thread only: their
    # signposting is rendered once (one query of its own here), however many they are.
    rendered = 1 if signed_in and size == 3 else 0
    with policy.registered(support={"crisis": _one_query_support}):
        # A miss: the thread's version (and the viewer's held posts), then the page.
        with django_assert_num_queries(2 + auth + rendered):
            missed = client.get(f"/api/v1/threads/{big.pk}/posts/", {"page_size": 50})
        # A hit: the thread's version with, for the viewer, her likes and mutes on the page.
        with django_assert_num_queries(1 + auth + rendered):
            response = client.get(f"/api/v1/threads/{big.pk}/posts/", {"page_size": 50})
    assert response.status_code == 200
    assert response.content == missed.content
    rows = response.json()["results"]
    assert len(rows) == min(50, size + 5)
    assert any(row["muted"] for row in rows) is signed_in
    assert all(row["status"] == "visible" for row in rows)
    if size == 3:  # the viewer's own posts are on the first page: signposting rendered once
        assert sum(row["support"] is not None for row in rows) == (3 if signed_in else 0)

    with django_assert_num_queries(3 + auth):  # search: count + ranked keys + rows
        assert client.get("/api/v1/threads/", {"q": "thread"}).status_code == 200
    with django_assert_num_queries(2 + auth):  # cached: count + ranked keys
        assert client.get("/api/v1/threads/", {"q": "thread"}).status_code == 200

    with django_assert_num_queries(1 + auth):  # the throttle identifies the user
        assert client.get("/api/v1/categories/").status_code == 200

    if signed_in:
        with django_assert_num_queries(1 + auth):
            response = client.get("/api/v1/notifications/")
        assert response.status_code == 200
        assert len(response.json()["results"]) == 1


def _one_query_support(kind: str) -> str:
    """A renderer reading the database once per call, as the real one reads service hours."""
    return f"<p>{kind} {User.objects.count()}</p>"


@pytest.mark.parametrize("size", [3, 60])
def test_moderators_pages_cost_two_queries_more_whatever_they_see(size, django_assert_num_queries):
    _viewer, big = _forum(size)
    moderator = UserFactory(role=Role.MODERATOR)
    client = token_client(moderator)
    APIClient().get(f"/api/v1/threads/{big.pk}/posts/", {"page_size": 50})  # the public's, cached
    # Moderators see held and hidden posts: never the public's cached page.
    with django_assert_num_queries(1 + 2 + 2):  # user, permissions (user, groups), thread, page
        response = client.get(f"/api/v1/threads/{big.pk}/posts/", {"page_size": 50})
    statuses = [row["status"] for row in response.json()["results"]]
    assert "hidden" in statuses or size == 60  # page 1 of the large thread is all replies
    with django_assert_num_queries(1 + 1):
        assert client.get(f"/api/v1/threads/{big.pk}/").status_code == 200


@pytest.mark.parametrize("size", [3, 60])
def test_my_mutes_cost_a_constant_number_of_queries(size, django_assert_num_queries):
    viewer = UserFactory()
    Mute.objects.bulk_create(Mute(user=viewer, muted=UserFactory()) for _ in range(size))
    client = token_client(viewer)
    with django_assert_num_queries(1 + 1):
        response = client.get("/api/v1/me/mutes/")
    assert len(response.json()["results"]) == min(50, size)


def test_page_fifty_of_the_posts_costs_what_page_one_does(django_assert_num_queries):
    viewer = UserFactory(display_name="Viewer")
    author = UserFactory()
    thread = make_thread(author=author)
    Post.objects.bulk_create(
        Post(thread=thread, author=author, body=f"p{n}", body_html=f"<p>p{n}</p>")
        for n in range(50 * 20)
    )
    client = APIClient()
    client.force_authenticate(viewer)
    url = f"/api/v1/threads/{thread.pk}/posts/"
    with django_assert_num_queries(2):  # a miss: the thread's version, the page
        page = client.get(url).json()
    for _ in range(49):
        page = client.get(page["next"]).json()
    with django_assert_num_queries(2):
        last = client.get(page["next"]).json()
    with django_assert_num_queries(1):  # a hit
        assert client.get(page["next"]).json() == last
    assert last["results"][-1]["body"] == "p999"
    assert last["next"] is None
    assert Like.objects.count() == 0
    assert Notification.objects.count() == 0


@pytest.mark.parametrize("size", [3, 60])
def test_a_category_page_costs_the_same_whatever_its_size(size, django_assert_num_queries):
    """The category row (which holds its count), the page's keys, and its rows on a miss:
    counting its threads costs nothing more, however many it has."""
    category = CategoryFactory(slug="peers", name="Peers")
    for n in range(size):
        make_thread(category=category, title=f"Thread number {n}")
    browser, last = Client(), {"page": str((size + 19) // 20)}
    with django_assert_num_queries(3):
        missed = browser.get("/c/peers/", last)
    assert missed.status_code == 200
    with django_assert_num_queries(2):
        assert browser.get("/c/peers/", last).content == missed.content
    with django_assert_num_queries(3 + 1):  # a filter: the threads it leaves are counted
        assert browser.get("/c/peers/", {"status": "open"}).status_code == 200
