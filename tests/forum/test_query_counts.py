"""Query budgets: each endpoint costs the same few queries with 3 rows or 60.

Signed-in clients authenticate with a real X-Session-Token (the session is read from the
cache, the user from PostgreSQL), exactly as the app client does.
"""

import pytest
from rest_framework.test import APIClient

from forum.models import Like, Notification, Post, Subscription
from forum.services import post_create, post_like
from tests.factories import PASSWORD, UserFactory, make_thread

pytestmark = pytest.mark.django_db


def _session_client(user) -> APIClient:
    response = APIClient().post(
        "/_allauth/app/v1/auth/login", {"email": user.email, "password": PASSWORD}, format="json"
    )
    client = APIClient()
    client.credentials(HTTP_X_SESSION_TOKEN=response.json()["meta"]["session_token"])
    return client


def _forum(size: int):
    """``size`` threads, a big thread with ``size`` posts, likes and followers."""
    viewer = UserFactory(display_name="Viewer")
    others = [UserFactory() for _ in range(4)]
    big = make_thread(author=others[0], title="The big thread")
    for n in range(size):
        post = post_create(author=others[n % 4], thread=big, body=f"Reply {n}")
        if n % 2:
            post_like(user=viewer, post=post)
    for n in range(size):
        make_thread(author=others[n % 4], title=f"Another thread {n}")
    Subscription.objects.bulk_create(
        [Subscription(user=UserFactory(), thread=big) for _ in range(size)]
    )
    Subscription.objects.get_or_create(user=viewer, thread=big)
    post_create(author=others[1], thread=big, body="one more for the viewer's notifications")
    return viewer, big


@pytest.mark.parametrize("size", [3, 60])
@pytest.mark.parametrize("signed_in", [False, True])
def test_forum_endpoints_have_constant_query_counts(size, signed_in, django_assert_num_queries):
    viewer, big = _forum(size)
    client = _session_client(viewer) if signed_in else APIClient()
    auth = 1 if signed_in else 0  # the user row behind the session token

    with django_assert_num_queries(2 + auth):  # count + page
        response = client.get("/api/v1/threads/")
    assert response.status_code == 200
    assert len(response.json()["results"]) == min(20, size + 1)

    with django_assert_num_queries(1 + auth):
        assert client.get(f"/api/v1/threads/{big.pk}/").status_code == 200

    with django_assert_num_queries(2 + auth):  # the thread + the page
        response = client.get(f"/api/v1/threads/{big.pk}/posts/")
    assert response.status_code == 200
    assert len(response.json()["results"]) == min(20, size + 2)

    with django_assert_num_queries(2 + auth):  # search: count + ranked page
        assert client.get("/api/v1/threads/", {"q": "thread"}).status_code == 200

    with django_assert_num_queries(1 + auth):  # the throttle identifies the user
        assert client.get("/api/v1/categories/").status_code == 200

    if signed_in:
        with django_assert_num_queries(1 + auth):
            response = client.get("/api/v1/notifications/")
        assert response.status_code == 200
        assert len(response.json()["results"]) == 1


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
    with django_assert_num_queries(2):
        page = client.get(url).json()
    for _ in range(49):
        page = client.get(page["next"]).json()
    with django_assert_num_queries(2):
        last = client.get(page["next"]).json()
    assert last["results"][-1]["body"] == "p999"
    assert last["next"] is None
    assert Like.objects.count() == 0
    assert Notification.objects.count() == 0
