"""The posts page cache (forum.posts_cache): exact, per viewer, and never a failure.

Every cached answer is compared with the answer the same request gets with the cache off
(``HAVEN_PAGE_CACHE = False``: the page built for that viewer alone, through the models and
the serializer): status, every header and the body's bytes.
"""

import pytest
from django.db.models import F
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import Mute, User
from accounts.roles import Role
from accounts.services import user_set_role
from core import pagecache
from forum import policy, posts_cache
from forum.apis import ThreadPostsApi
from forum.models import Post, Thread
from forum.policy import Screening
from forum.services import post_create, post_hide, post_like
from tests.factories import UserFactory, make_thread
from tests.utils import answer, dispatches, throttle_rates, token_client, uncached

pytestmark = pytest.mark.django_db

LOGIN = "/_allauth/app/v1/auth/login"


def bump(thread: Thread) -> None:
    """What every write that changes the thread's pages does (``forum.services.thread_changed``)."""
    Thread.objects.filter(pk=thread.pk).update(version=F("version") + 1)


def page_keys() -> list[bytes]:
    client = pagecache._redis()
    return list(client.scan_iter(match="*posts:api:*"))


@pytest.fixture
def forum(settings):
    """A thread of 30 posts: members, a nurse answer, a muted member, a tombstone, a hidden
    post, a held post and crisis posts (with signposting)."""
    throttle_rates(settings, anon="1000/min", user="1000/min")
    people = {
        "author": UserFactory(display_name="Opener"),
        "liker": UserFactory(display_name="Liker"),
        "muter": UserFactory(display_name="Muter"),
        "loud": UserFactory(display_name="Loud"),
        "crisis": UserFactory(display_name="Crisis"),
        "held": UserFactory(display_name="Held"),
        "suspended": UserFactory(display_name="Suspended"),
        "moderator": UserFactory(role=Role.MODERATOR),
        "nurse": UserFactory(role=Role.NURSE),
    }
    User.objects.filter(pk=people["suspended"].pk).update(suspended_indefinitely=True)
    thread = make_thread(author=people["author"], title="A long thread")
    posts = []
    for n in range(24):
        author = [people["author"], people["loud"], people["nurse"]][n % 3]
        posts.append(post_create(author=author, thread=thread, body=f"Reply **{n}** — ünïcode"))
    for post in posts[::4]:
        if post.author_id != people["liker"].pk:
            post_like(user=people["liker"], post=post)
    Mute.objects.create(user=people["muter"], muted=people["loud"])
    Mute.objects.create(user=people["muter"], muted=people["nurse"])  # a title: never muted
    post_hide(actor=people["moderator"], post=posts[5])
    Post.objects.filter(pk=posts[7].pk).update(status=Post.Status.DELETED, body="", body_html="")
    with policy.registered(screens=(lambda user, text: Screening(safeguarding="crisis" in text),)):
        for n in range(2):
            post_create(author=people["crisis"], thread=thread, body=f"crisis {n}")
    User.objects.filter(pk=people["held"].pk).update(premoderated_indefinitely=True)
    held = post_create(author=User.objects.get(pk=people["held"].pk), thread=thread, body="Hold")
    assert held.status == Post.Status.PENDING
    return thread, people


def signposting(kind: str) -> str:
    return f"<p>Call the {kind} line</p>"


URLS = [
    "",
    "?page_size=7",
    "?page_size=500",  # over the maximum: the maximum
    "?page_size=nonsense",  # DRF ignores a page size that is not one
    "?page_size=07",  # 7, spelled otherwise
    "?page_size=7&utm=x",  # a parameter the page ignores (its links repeat it)
]
# Queries spelled as the pagination spells them: the others are answered uncached, never
# stored (each spelling would be one more copy of a page in Redis).
CANONICAL = {"", "?page_size=7"}


@pytest.mark.parametrize("query", URLS)
def test_anonymous_pages_are_byte_identical_to_uncached_ones(settings, forum, query):
    thread, _people = forum
    url = f"/api/v1/threads/{thread.pk}/posts/{query}"
    client = Client()
    reference = uncached(settings, lambda: client.get(url))
    assert reference.status_code == 200
    assert page_keys() == []
    miss = client.get(url)
    assert len(page_keys()) == (1 if query in CANONICAL else 0)
    hit = client.get(url)
    assert answer(miss) == answer(reference)
    assert answer(hit) == answer(reference)
    # The next page (a cursor), followed from the cached page's own link.
    next_url = hit.json()["next"]
    if query == "?page_size=500":  # all 26 of the public's posts on one page
        assert next_url is None
        assert len(hit.json()["results"]) == 26
        return
    reference = uncached(settings, lambda: client.get(next_url))
    assert answer(client.get(next_url)) == answer(reference)
    assert answer(client.get(next_url)) == answer(reference)
    previous = client.get(next_url).json()["previous"]
    assert answer(client.get(previous)) == answer(uncached(settings, lambda: client.get(previous)))


def test_a_hit_is_served_before_drf_with_one_query(forum, django_assert_num_queries):
    thread, _people = forum
    url = f"/api/v1/threads/{thread.pk}/posts/"
    with django_assert_num_queries(2):  # the thread's version, the page
        Client().get(url)
    with django_assert_num_queries(1):  # the thread's version and visibility
        response = Client().get(url)
    assert response.status_code == 200
    # Served whole from the cache: a row changed behind the version's back is not seen...
    Post.objects.filter(thread=thread).update(body_html="<p>changed</p>")
    assert "changed" not in Client().get(url).content.decode()
    # ...and once the version moves on (every write does), the page is built afresh.
    bump(thread)
    assert "changed" in Client().get(url).content.decode()


@pytest.mark.parametrize(
    "change",
    ["held", "hidden", "deleted", "missing"],
)
def test_a_thread_the_public_may_not_see_is_the_same_404_and_never_cached(settings, forum, change):
    thread, _people = forum
    url = f"/api/v1/threads/{thread.pk}/posts/"
    assert Client().get(url).status_code == 200  # cached while visible
    assert len(page_keys()) == 1
    if change == "missing":
        url = f"/api/v1/threads/{thread.pk + 1000}/posts/"
    elif change == "deleted":
        Thread.objects.filter(pk=thread.pk).delete()
    else:
        visibility = {"held": Thread.Visibility.PENDING, "hidden": Thread.Visibility.HIDDEN}
        Thread.objects.filter(pk=thread.pk).update(visibility=visibility[change])
    reference = uncached(settings, lambda: Client().get(url))
    assert reference.status_code == 404
    for _ in range(2):
        assert answer(Client().get(url)) == answer(reference)
    assert len(page_keys()) == 1  # only the page stored while the thread was visible


def test_a_bad_cursor_is_the_same_400_and_never_cached(settings, forum):
    thread, _people = forum
    url = f"/api/v1/threads/{thread.pk}/posts/?cursor=not-a-cursor"
    reference = uncached(settings, lambda: Client().get(url))
    assert reference.status_code == 400
    assert answer(Client().get(url)) == answer(reference)
    assert answer(Client().get(url)) == answer(reference)
    assert page_keys() == []


def test_what_the_fast_path_cannot_answer_exactly_is_drfs(settings, forum):
    """The browsable API, an unknown parameter, a HEAD: DRF answers, as without the cache."""
    thread, _people = forum
    url = f"/api/v1/threads/{thread.pk}/posts/"
    Client().get(url)  # cached
    for request in (
        lambda: Client().get(url, HTTP_ACCEPT="text/html"),
        lambda: Client().get(url, HTTP_ACCEPT="application/json; indent=4"),
        lambda: Client().get(url, {"format": "json"}),
        lambda: Client().get(url, {"other": "1"}),
        lambda: Client().head(url),
    ):
        reference = uncached(settings, request)
        got = request()
        assert got.status_code == reference.status_code
        if reference.headers.get("Content-Type", "").startswith("application/json"):
            assert answer(got) == answer(reference)


def test_the_anonymous_throttle_counts_once_and_refuses_as_drf_does(settings, forum, time_machine):
    thread, _people = forum
    time_machine.move_to("2026-01-01 12:00:00", tick=False)
    throttle_rates(settings, anon="3/min")
    url = f"/api/v1/threads/{thread.pk}/posts/"
    statuses = [Client().get(url).status_code for _ in range(4)]  # a miss, then hits
    assert statuses == [200, 200, 200, 429]  # each counted once, hit or miss
    refused = Client().get(url)
    # The cache off: DRF's own throttle on the same counters refuses the same way.
    assert answer(refused) == answer(uncached(settings, lambda: Client().get(url)))
    assert refused.json()["code"] == "throttled"
    assert refused.headers["Retry-After"] == "60"


def test_a_signed_in_hit_is_served_before_drf_privately(
    forum, django_assert_num_queries, monkeypatch
):
    """A member signed in with a session token is served the cached page before DRF: her
    user row and the thread's state with her bits (two queries), never stored by a cache."""
    thread, people = forum
    url = f"/api/v1/threads/{thread.pk}/posts/?page_size=50"
    Client().get(url)  # the public's page stored
    liker = token_client(people["liker"])
    liker.get(url)  # her connection and session warmed
    dispatched = dispatches(monkeypatch, ThreadPostsApi)
    with django_assert_num_queries(2):
        response = liker.get(url)
    assert response.status_code == 200 and dispatched == []
    assert sum(r["liked_by_me"] for r in response.json()["results"]) == 6
    assert "no-store" in response.headers["Cache-Control"]
    assert "private" in response.headers["Cache-Control"]
    assert "Cookie" not in response.headers["Vary"]
    moderator = token_client(people["moderator"])  # her page is not the public's: DRF's
    assert moderator.get(url).status_code == 200 and dispatched == ["GET"]


def test_a_hit_costs_one_round_trip_to_redis_beyond_the_session(forum, round_trips):
    """The throttle's count and the cached page travel together (``core.cache.count_and_read``):
    the public's hit is one round trip to Redis, a member's one more for her session."""
    thread, people = forum
    url = f"/api/v1/threads/{thread.pk}/posts/"
    liker = token_client(people["liker"])
    for client in (Client(), liker):
        client.get(url)  # stored, connections made
    sent = round_trips
    sent.clear()
    assert Client().get(url).status_code == 200
    assert len(sent) == 1 and all(word in sent[0] for word in (b"INCR", b"EXPIRE", b"GET"))
    sent.clear()
    assert liker.get(url).status_code == 200
    assert len(sent) == 2 and b"sessions" in sent[0]
    assert f"throttle_user_{people['liker'].pk}".encode() in sent[1] and b"posts:api" in sent[1]


def test_a_moderator_demoted_is_served_the_publics_page_at_her_next_request(settings, forum):
    """Her role is read afresh on every request, also before DRF: once she is a member, her
    token's next read is the public's cached page (no hidden or held posts), exactly as the
    cache off serves it to her."""
    thread, people = forum
    url = f"/api/v1/threads/{thread.pk}/posts/?page_size=50"
    moderator = token_client(people["moderator"])
    assert {"hidden", "pending"} <= {r["status"] for r in moderator.get(url).json()["results"]}
    Client().get(url)  # the public's page stored
    user_set_role(user=people["moderator"], role=Role.MEMBER)
    demoted = moderator.get(url)
    assert not {"hidden", "pending"} & {r["status"] for r in demoted.json()["results"]}
    assert answer(demoted) == answer(uncached(settings, lambda: moderator.get(url)))


def test_the_members_throttle_counts_once_and_refuses_as_drf_does(settings, forum, time_machine):
    thread, people = forum
    time_machine.move_to("2026-01-01 12:00:00", tick=False)
    throttle_rates(settings, user="3/min")
    url = f"/api/v1/threads/{thread.pk}/posts/"
    Client().get(url)  # the public's page stored: her requests are all hits
    liker = token_client(people["liker"])
    assert [liker.get(url).status_code for _ in range(4)] == [200, 200, 200, 429]
    refused = liker.get(url)
    assert answer(refused) == answer(uncached(settings, lambda: liker.get(url)))
    assert refused.json()["code"] == "throttled"
    assert refused.headers["Retry-After"] == "60"
    assert Client().get(url).status_code == 200  # hers alone: the public's is not spent


VIEWERS = ["anonymous", "author", "liker", "muter", "crisis", "held", "moderator", "suspended"]


@pytest.mark.parametrize("warmed_by", ["anonymous", "muter"])
def test_each_viewer_sees_exactly_her_uncached_page(settings, forum, warmed_by):
    """Whoever filled the cache, every viewer is served what the cache off serves her."""
    thread, people = forum
    clients = {name: token_client(people[name]) for name in VIEWERS if name != "anonymous"}
    clients["anonymous"] = APIClient()
    url = f"/api/v1/threads/{thread.pk}/posts/?page_size=50"
    with policy.registered(support={"crisis": signposting}):
        references = {
            name: uncached(settings, lambda c=client: c.get(url))
            for name, client in clients.items()
        }
        clients[warmed_by].get(url)
        assert len(page_keys()) == 1
        for name, client in clients.items():
            for _ in range(2):
                assert answer(client.get(url)) == answer(references[name]), name

    def rows(name):
        return references[name].json()["results"]

    # What each reference shows (so that equality above proves the overlay, not two blanks).
    assert not any(r["liked_by_me"] or r["muted"] or r["support"] for r in rows("anonymous"))
    assert sum(r["liked_by_me"] for r in rows("liker")) == 6
    muted = [r for r in rows("muter") if r["muted"]]
    assert muted and {r["author"]["display_name"] for r in muted} == {"Loud"}  # not the nurse
    assert [r["support"]["html"] for r in rows("crisis") if r["support"]] == [
        signposting("crisis")
    ] * 2
    assert not any(r["support"] for r in rows("author"))
    assert "pending" in [r["status"] for r in rows("held")]
    assert {"hidden", "pending"} <= {r["status"] for r in rows("moderator")}
    assert [r["status"] for r in rows("suspended")] == [r["status"] for r in rows("anonymous")]


def test_a_page_cached_before_a_like_or_a_mute_overlays_them_now(settings, forum):
    """The viewer's own bits are read per request, never cached: her like (which moves the
    version too) and her mute (which does not) show at once."""
    thread, people = forum
    viewer = token_client(people["liker"])
    url = f"/api/v1/threads/{thread.pk}/posts/"
    first = viewer.get(url).json()["results"]
    loud = next(r for r in first if r["author"]["display_name"] == "Loud" and not r["muted"])
    Mute.objects.create(user=people["liker"], muted=people["loud"])
    again = viewer.get(url).json()["results"]
    assert next(r for r in again if r["id"] == loud["id"])["muted"] is True
    assert answer(viewer.get(url)) == answer(uncached(settings, lambda: viewer.get(url)))


def test_a_signed_in_hit_is_spliced_exactly_whatever_members_write(settings, forum, monkeypatch):
    """A signed-in hit overlays the stored bytes in place (``posts_cache.overlay_body``): a
    member writing the very fields it rewrites, in her post and in her name, changes nothing
    of it; a request for other JSON (indented) is overlaid on the parsed page instead."""
    thread, people = forum
    trick = '"liked_by_me":false,"muted":false,"support":null}]}'
    User.objects.filter(pk=people["loud"].pk).update(display_name=trick[:30])
    post_create(author=people["loud"], thread=thread, body=f"`{trick}` {trick}")
    liker = token_client(people["liker"])
    url = f"/api/v1/threads/{thread.pk}/posts/?page_size=50"
    spliced: list[bool] = []
    splice = posts_cache.overlay_body

    def spy(*args, **kwargs):
        body = splice(*args, **kwargs)
        spliced.append(body is not None)
        return body

    monkeypatch.setattr(posts_cache, "overlay_body", spy)
    with policy.registered(support={"crisis": signposting}):
        for viewer in (liker, token_client(people["crisis"])):
            for accept in ("application/json", "application/json; indent=2"):
                reference = uncached(settings, lambda v=viewer, a=accept: v.get(url, HTTP_ACCEPT=a))
                Client().get(url)  # the public's page stored
                for _ in range(2):
                    assert answer(viewer.get(url, HTTP_ACCEPT=accept)) == answer(reference)
    assert spliced == [True] * 4  # the compact hits only, none given up
    rows = reference.json()["results"]
    assert trick in rows[-1]["body"] and rows[-1]["liked_by_me"] is False
    assert sum(r["liked_by_me"] for r in liker.get(url).json()["results"]) == 6
    assert [r["support"]["kind"] for r in rows if r["support"]] == ["crisis"] * 2


def test_a_dead_redis_serves_every_page_uncached(settings, forum):
    thread, people = forum
    url = f"/api/v1/threads/{thread.pk}/posts/"
    reference = Client().get(url)
    signed_in = token_client(people["liker"])
    mine = signed_in.get(url)
    settings.CACHES = {
        "default": {**settings.CACHES["default"], "LOCATION": "redis://127.0.0.1:1/0"}
    }
    assert pagecache.get("anything") is None
    pagecache.set("anything", b"body", 60)  # dropped, quietly
    assert answer(Client().get(url)) == answer(reference)
    assert answer(signed_in.get(url)) == answer(mine)  # the session from the database


def test_a_value_of_another_shape_is_a_miss(forum):
    thread, _people = forum
    url = f"/api/v1/threads/{thread.pk}/posts/"
    reference = Client().get(url)
    (key,) = page_keys()
    pagecache._redis().set(key, b"garbage")
    assert answer(Client().get(url)) == answer(reference)


# --- The HTML thread page ----------------------------------------------------------------------


def html_keys() -> list[bytes]:
    return list(pagecache._redis().scan_iter(match="*posts:html:*"))


def test_the_publics_thread_page_is_cached_whole_and_byte_identical(
    settings, forum, django_assert_num_queries
):
    thread, _people = forum
    url = f"/t/{thread.pk}/"
    reference = uncached(settings, lambda: Client().get(url))
    assert reference.status_code == 200
    with django_assert_num_queries(3):  # a miss: the stamp's fields, the thread, the page
        miss = Client().get(url)
    with django_assert_num_queries(1):  # a hit: the thread's version, category and opener
        hit = Client().get(url)
    assert answer(miss) == answer(reference)
    assert answer(hit) == answer(reference)
    later = "?" + reference.content.decode().split('rel="next" href="?')[1].split('"')[0]
    later = later.replace("&amp;", "&")
    reference = uncached(settings, lambda: Client().get(url + later))
    assert answer(Client().get(url + later)) == answer(reference)
    assert answer(Client().get(url + later)) == answer(reference)
    assert len(html_keys()) == 2
    # What the page shows beyond its posts moves it on too: the category's name.
    thread.category.name = "Renamed"
    thread.category.save()
    assert "Renamed" in Client().get(url).content.decode()
    # And its opener's name (her own posts' names move with the thread's version).
    User.objects.filter(pk=thread.author_id).update(display_name="Newname")
    assert "Started by Newname" in Client().get(url).content.decode()


def test_a_signed_in_or_messaged_visitor_is_never_served_the_publics_page(settings, forum):
    thread, people = forum
    url = f"/t/{thread.pk}/"
    Client().get(url)  # cached for the public
    member = Client()
    member.force_login(people["liker"])
    page = member.get(url).content.decode()
    assert "Sign out" in page and "Unlike" in page
    visitor = Client()
    visitor.cookies["messages"] = "not-even-valid"
    assert answer(visitor.get(url)) == answer(uncached(settings, lambda: visitor.get(url)))
    assert len(html_keys()) == 1


@pytest.mark.parametrize("change", ["held", "hidden", "bad cursor"])
def test_a_thread_page_the_public_may_not_see_is_never_cached(settings, forum, change):
    thread, _people = forum
    url = f"/t/{thread.pk}/"
    if change == "bad cursor":
        url += "?cursor=nonsense"
    else:
        visibility = {"held": Thread.Visibility.PENDING, "hidden": Thread.Visibility.HIDDEN}
        Thread.objects.filter(pk=thread.pk).update(visibility=visibility[change])
    reference = uncached(settings, lambda: Client().get(url))
    assert reference.status_code in (400, 404)
    assert answer(Client().get(url)) == answer(reference)
    assert html_keys() == []


# --- Keys: only normalised, known queries are stored ---------------------------------------------


def _next_cursor(client, url: str) -> str:
    from urllib.parse import parse_qs, urlsplit

    return parse_qs(urlsplit(client.get(url).json()["next"]).query)["cursor"][0]


def test_a_query_of_any_other_spelling_is_never_stored(settings, forum):
    """Parameters the page ignores, a page size spelled ``07``, a cursor re-encoded by hand
    (the same position, another spelling), a repeated parameter: each answered exactly as
    without the cache, and none stored, on the API (anonymous and signed in) and the HTML
    page. Only the canonical spellings are, and two orders of them share one key."""
    from base64 import b64decode, b64encode

    thread, people = forum
    api, html = f"/api/v1/threads/{thread.pk}/posts/", f"/t/{thread.pk}/"
    cursor = _next_cursor(Client(), api + "?page_size=7")
    decoded = b64decode(cursor).decode()
    respelled = b64encode(f"{decoded}&o=0".encode()).decode()  # offset 0, said
    assert respelled != cursor
    odd = [
        "?x=1",
        "?x=2",
        "?page_size=07",
        "?page_size=7&page_size=7",
        "?cursor=",
        f"?page_size=7&cursor={respelled}",
        f"?page_size=7&cursor={cursor}&x=1",
    ]
    pagecache._redis().flushdb()
    signed_in = Client()
    signed_in.force_login(people["liker"])
    for query in odd:
        for client, url in ((Client(), api), (signed_in, api), (Client(), html)):
            reference = uncached(settings, lambda c=client, u=url + query: c.get(u))
            assert answer(client.get(url + query)) == answer(reference), (url, query)
            assert answer(client.get(url + query)) == answer(reference), (url, query)
    assert page_keys() == [] and html_keys() == []
    for query in (f"?page_size=7&cursor={cursor}", f"?cursor={cursor}&page_size=7"):
        for client, url in ((Client(), api), (Client(), html)):
            reference = uncached(settings, lambda c=client, u=url + query: c.get(u))
            assert answer(client.get(url + query)) == answer(reference)
    assert len(page_keys()) == 1 and len(html_keys()) == 1


# A hand-made cursor may name a time without a zone: Django warns and reads it as UTC.
@pytest.mark.filterwarnings("ignore:DateTimeField Post.created_at received a naive datetime")
def test_a_cursor_of_a_position_not_as_drf_writes_one_is_never_stored(settings, forum):
    from base64 import b64encode

    thread, _people = forum
    url = f"/api/v1/threads/{thread.pk}/posts/"
    for position in ("2020-01-01", "2020-01-01T00:00:00+00:00", "soon"):
        query = "?cursor=" + b64encode(f"p={position}".encode()).decode()
        reference = uncached(settings, lambda q=query: Client().get(url + q))
        assert answer(Client().get(url + query)) == answer(reference)
    assert page_keys() == []


# --- The code stamp ------------------------------------------------------------------------------


@pytest.fixture
def fresh_stamp():
    posts_cache.code_stamp.cache_clear()
    yield posts_cache.code_stamp
    posts_cache.code_stamp.cache_clear()


STAMPED = [
    "moderation/templates/haven/_staff_thread_actions.html",
    "moderation/templates/haven/_moderation_post_actions.html",
    "accounts/templates/allauth/layouts/base.html",
    "core/templates/haven/base.html",
    "forum/templates/haven/thread.html",
    "core/pages.py",
    "core/api/pagination.py",
    "core/api/responses.py",
    "accounts/identity.py",
    "forum/apis.py",
]


@pytest.mark.parametrize("name", STAMPED)
def test_changing_any_input_of_the_pages_changes_the_stamp_and_the_lists_keys(
    settings, monkeypatch, fresh_stamp, name
):
    """A deploy that changes one of the files that render pages (an included moderation
    template, the layout, the pagination) reads none of the pages or lists stored before."""
    from pathlib import Path

    from forum import thread_lists

    target = (Path(settings.BASE_DIR) / name).resolve()
    assert target in posts_cache.stamp_sources()
    before = fresh_stamp()
    list_key = thread_lists.page_key("api", "?")
    read = posts_cache._read
    monkeypatch.setattr(
        posts_cache, "_read", lambda path: read(path) + (b" " if path == target else b"")
    )
    posts_cache.code_stamp.cache_clear()
    assert fresh_stamp() != before
    assert thread_lists.page_key("api", "?") != list_key


def test_a_new_static_manifest_changes_the_stamp(settings, tmp_path, fresh_stamp):
    """Production's ManifestStaticFilesStorage: cached pages name hashed stylesheets."""
    import json

    settings.STATIC_ROOT = str(tmp_path)
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"},
    }
    stamps = []
    for digest in ("aaa111", "bbb222"):
        manifest = {"version": "1.1", "paths": {"haven.css": f"haven.{digest}.css"}}
        (tmp_path / "staticfiles.json").write_text(json.dumps(manifest))
        assert posts_cache.static_manifest() is not None
        posts_cache.code_stamp.cache_clear()
        stamps.append(fresh_stamp())
    assert stamps[0] != stamps[1]
