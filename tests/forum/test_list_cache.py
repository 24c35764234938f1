"""The thread list's cached pages served before DRF (``forum.apis.threads``).

Every answer is compared with the answer the same request gets with the page cache off
(``HAVEN_PAGE_CACHE = False``: DRF's view, the page built for that viewer alone): status,
every header and the body's bytes, for the public and for a member reading with a session
token, as apps do.
"""

import pytest
from django.db.models import F
from rest_framework.renderers import JSONRenderer
from rest_framework.test import APIClient

from accounts.models import User
from core import pagecache
from forum import services
from forum.apis import ThreadListApi, ThreadPostsApi
from forum.models import Thread
from tests.factories import CategoryFactory, UserFactory, make_thread
from tests.utils import answer, dispatches, throttle_rates, token_client, uncached

pytestmark = pytest.mark.django_db

LIST = "/api/v1/threads/"


@pytest.fixture
def board(settings):
    """Ten visible threads in two categories (three with the same activity time), one
    hidden, and a member who follows every third visible one."""
    throttle_rates(settings, anon="1000/min", user="1000/min")
    peers = CategoryFactory(slug="peers", name="Peers")
    carers = CategoryFactory(slug="carers", name="Carers")
    authors = [UserFactory() for _ in range(3)]
    threads = [
        make_thread(author=authors[n % 3], category=(peers, carers)[n % 2], title=f"Thread {n}")
        for n in range(11)
    ]
    Thread.objects.filter(pk=threads[-1].pk).update(visibility=Thread.Visibility.HIDDEN)
    tied = threads[2:5]
    Thread.objects.filter(pk__in=[t.pk for t in tied]).update(
        last_activity_at=threads[5].last_activity_at
    )
    follower = UserFactory(display_name="Follower")
    for thread in threads[:10:3]:
        services.thread_follow(user=follower, thread=thread)
    return {"threads": threads[:10], "follower": follower, "peers": peers}


def viewer_client(board, viewer: str) -> APIClient:
    return APIClient() if viewer == "public" else token_client(board["follower"])


QUERIES = [
    "",
    "?page=1",
    "?page=2&page_size=3",
    "?page_size=3&page=4",  # the last page, partly full, by its number
    "?page_size=3&page=last",
    "?page_size=3&page=9",  # past the last: 404
    "?page=100000000000000000",  # far past it, and past any offset PostgreSQL takes
    "?page=0",  # not a page: 400
    "?page=01",  # spelled otherwise: DRF's
    "?page_size=07",
    "?page_size=500",  # over the maximum: the maximum
    "?page=2&page=2",
    "?page_size=3&utm=x",  # a parameter the list ignores
    "?page=%32&page_size=3",  # page 2, spelled otherwise: the same links
    "?&page_size=3&page=2&",
    "?category=peers",  # a filter: DRF's
    "?format=json",
]


@pytest.mark.parametrize("viewer", ["public", "follower"])
@pytest.mark.parametrize("query", QUERIES)
def test_every_list_page_is_byte_identical_to_an_uncached_one(settings, board, query, viewer):
    client = viewer_client(board, viewer)
    reference = uncached(settings, lambda: client.get(LIST + query))
    for _ in range(3):  # a miss, then hits
        assert answer(client.get(LIST + query)) == answer(reference)


def list_keys() -> list[bytes]:
    return list(pagecache._redis().scan_iter(match="*page:*"))


def test_each_page_is_stored_once_whatever_its_spelling(board):
    """The links of page 2 are the same however its query is spelled (DRF writes them
    afresh): one stored body serves every spelling. A page or size spelled otherwise than the
    links spell it is answered uncached, never stored."""
    spellings = [
        "?page=2&page_size=3",
        "?page_size=3&page=2",
        "?page=%32&page_size=3",
        "?&page=2&page_size=3&",
    ]
    bodies = {APIClient().get(LIST + query).content for query in spellings}
    assert len(bodies) == 1 and len(list_keys()) == 1
    for query in ("?page=02&page_size=3", "?page=2&page_size=03", "?page_size=500", "?x=1"):
        assert APIClient().get(LIST + query).status_code == 200
    assert len(list_keys()) == 1


ACCEPTS = ["", "*/*", "application/json", "application/json; indent=4", "application/xml"]


@pytest.mark.parametrize("accept", ACCEPTS)
@pytest.mark.parametrize("url", ["list", "posts"])
def test_every_accept_is_answered_as_drf_answers_it(settings, board, accept, url):
    path = LIST if url == "list" else f"/api/v1/threads/{board['threads'][0].pk}/posts/"
    for client in (APIClient(), token_client(board["follower"])):
        client.get(path)  # stored
        reference = uncached(settings, lambda c=client: c.get(path, HTTP_ACCEPT=accept))
        assert answer(client.get(path, HTTP_ACCEPT=accept)) == answer(reference)


@pytest.mark.parametrize("url", ["list", "posts"])
def test_with_production_s_one_renderer_the_headers_are_drf_s(settings, board, monkeypatch, url):
    """Production renders the API's JSON alone, so DRF sends no ``Vary: Accept``: neither do
    the fast paths."""
    for view in (ThreadListApi, ThreadPostsApi):
        monkeypatch.setattr(view, "renderer_classes", [JSONRenderer])
    path = LIST if url == "list" else f"/api/v1/threads/{board['threads'][0].pk}/posts/"
    for client in (APIClient(), token_client(board["follower"])):
        client.get(path)  # stored
        hit = client.get(path)
        assert answer(hit) == answer(uncached(settings, lambda c=client: c.get(path)))
        assert "Accept" not in hit.headers.get("Vary", "")


def test_a_token_that_signs_no_one_in_reads_as_the_public(settings, board):
    """An unknown token, a signed-out one and a deactivated member's are the public's
    requests, before DRF as in it."""
    member = token_client(board["follower"])
    public = APIClient().get(LIST)
    unknown = APIClient()
    unknown.credentials(HTTP_X_SESSION_TOKEN="x" * 32)
    assert answer(unknown.get(LIST)) == answer(uncached(settings, lambda: unknown.get(LIST)))
    assert unknown.get(LIST).content == public.content
    User.objects.filter(pk=board["follower"].pk).update(is_active=False)
    assert answer(member.get(LIST)) == answer(uncached(settings, lambda: member.get(LIST)))
    assert member.get(LIST).content == public.content  # no follows: hers are not read


def test_a_head_is_drf_s(settings, board):
    APIClient().get(LIST)
    reference = uncached(settings, lambda: APIClient().head(LIST))
    assert answer(APIClient().head(LIST)) == answer(reference)


def test_a_hit_is_served_before_drf_in_one_query_and_one_round_trip(
    board, django_assert_num_queries, round_trips, monkeypatch
):
    """The public's hit: the throttle's count and the stored page in one round trip to
    Redis (``core.cache.count_and_read``), the count and the page's rows in one statement."""
    APIClient().get(LIST)  # stored
    dispatched = dispatches(monkeypatch, ThreadListApi)
    round_trips.clear()
    with django_assert_num_queries(1):
        response = APIClient().get(LIST)
    assert response.status_code == 200 and dispatched == []
    assert response.json()["count"] == 10
    assert len(round_trips) == 1
    assert all(word in round_trips[0] for word in (b"INCR", b"EXPIRE", b"GET"))
    assert APIClient().get(LIST, {"category": "peers"}).status_code == 200
    assert dispatched == ["GET"]  # a filter is DRF's


def test_a_members_hit_is_served_before_drf_privately_with_her_follows(
    board, django_assert_num_queries, round_trips, monkeypatch
):
    """Her session (one round trip), her row and the page's keys with her ``following``
    (two queries), her count and the stored page (one round trip): the public's stored
    bytes with her follows spliced in, private."""
    APIClient().get(LIST)  # the public's page stored
    member = token_client(board["follower"])
    member.get(LIST)  # her connection warmed
    dispatched = dispatches(monkeypatch, ThreadListApi)
    round_trips.clear()
    with django_assert_num_queries(2):
        response = member.get(LIST)
    assert response.status_code == 200 and dispatched == []
    followed = {t.pk for t in board["threads"][::3]}
    assert {r["id"] for r in response.json()["results"] if r["following"]} == followed
    assert "no-store" in response.headers["Cache-Control"]
    assert "private" in response.headers["Cache-Control"]
    assert len(round_trips) == 2 and b"sessions" in round_trips[0]
    assert f"throttle_user_{board['follower'].pk}".encode() in round_trips[1]


def test_a_stored_page_is_served_only_while_it_is_the_page_now(settings, board):
    """Stamped with the count and its rows' ids and versions: a row changed behind its
    version's back is not seen; a version moved on, a new thread or a follow is."""
    client = token_client(board["follower"])
    first = board["threads"][-1]
    assert client.get(LIST).json()["results"][0]["title"] == "Thread 9"
    Thread.objects.filter(pk=first.pk).update(title="Changed")
    assert client.get(LIST).json()["results"][0]["title"] == "Thread 9"  # the stored body
    Thread.objects.filter(pk=first.pk).update(version=F("version") + 1)
    assert client.get(LIST).json()["results"][0]["title"] == "Changed"

    make_thread(author=board["follower"], category=board["peers"], title="Newest")
    rows = client.get(LIST).json()
    assert rows["count"] == 11 and rows["results"][0]["title"] == "Newest"

    page = client.get(LIST, {"page_size": 3}).json()
    assert page["count"] == 11
    # A thread leaves the list, far from the first page: only its count changes.
    oldest = board["threads"][0]
    Thread.objects.filter(pk=oldest.pk).update(visibility=Thread.Visibility.HIDDEN)
    assert client.get(LIST, {"page_size": 3}).json() == {**page, "count": 10}

    services.thread_unfollow(user=board["follower"], thread=first)
    assert client.get(LIST).json()["results"][1]["following"] is False
    services.thread_follow(user=board["follower"], thread=first)
    assert client.get(LIST).json()["results"][1]["following"] is True
    assert answer(client.get(LIST)) == answer(uncached(settings, lambda: client.get(LIST)))


@pytest.mark.parametrize("viewer", ["public", "follower"])
def test_the_throttle_counts_once_and_refuses_as_drf_does(settings, board, viewer, time_machine):
    client = viewer_client(board, viewer)
    time_machine.move_to("2026-01-01 11:58:00", tick=False)
    APIClient().get(LIST)  # stored: her requests are hits (counted in a window of its own)
    time_machine.move_to("2026-01-01 12:00:00", tick=False)
    throttle_rates(settings, anon="3/min", user="3/min")
    assert [client.get(LIST).status_code for _ in range(4)] == [200, 200, 200, 429]
    refused = client.get(LIST)
    assert answer(refused) == answer(uncached(settings, lambda: client.get(LIST)))
    assert refused.json()["code"] == "throttled"
    assert refused.headers["Retry-After"] == "60"


def test_a_dead_redis_serves_every_list_uncached(settings, board):
    member = token_client(board["follower"])
    public, mine = APIClient().get(LIST), member.get(LIST)
    settings.CACHES = {
        "default": {**settings.CACHES["default"], "LOCATION": "redis://127.0.0.1:1/0"}
    }
    assert answer(APIClient().get(LIST)) == answer(public)
    assert answer(member.get(LIST)) == answer(mine)  # her session from the database


def test_a_stored_value_of_another_shape_is_a_miss(board):
    reference = APIClient().get(LIST)
    client = pagecache._redis()
    (key,) = list_keys()
    client.set(key, b"garbage")
    assert answer(APIClient().get(LIST)) == answer(reference)
    assert client.get(key) != b"garbage"  # stored afresh
