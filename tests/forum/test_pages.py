"""The read pages (home, category, thread) and the branded error pages, through Django's
test client: landmarks, the API's visibility rules per viewer, staff identity, query budgets.
"""

import re
from typing import Any

import pytest
from django.db import connection
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from accounts.roles import Role
from config.urls import handler500
from forum import policy
from forum.models import Post, Thread
from forum.policy import Screening
from forum.services import post_create, post_hide, post_like, thread_close
from moderation import demo
from moderation.answers import nurse_answer_create
from tests.factories import CategoryFactory, UserFactory, make_reply, make_thread
from tests.pages import assert_page_frame, parse_page
from tests.utils import signed_in

pytestmark = pytest.mark.django_db


def _h1(response: Any) -> str:
    match = re.search(r"<h1>(.*?)</h1>", response.content.decode(), re.S)
    assert match
    return match.group(1).strip()


# --- Home and categories ----------------------------------------------------------------------


def test_home_lists_every_category_with_a_link(client):
    peers = CategoryFactory(slug="peers", name="Peer support", description="Talk to others.")
    nurses = CategoryFactory(slug="ask-our-nurses", name="Ask Our Nurses", nurse_answered=True)
    response = client.get("/")
    assert response.status_code == 200
    page = assert_page_frame(response, "Categories")
    assert _h1(response) == "Haven"
    links = [a["href"] for a in page.all("a")]
    assert "/c/peers/" in links and "/c/ask-our-nurses/" in links
    assert "Talk to others." in response.content.decode()
    assert response["Content-Security-Policy"].count("script-src 'self'") == 1
    assert (peers.name, nurses.name) == ("Peer support", "Ask Our Nurses")


def test_the_stylesheet_is_served_by_whitenoise(client):
    response = client.get("/static/haven/haven.css")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/css")
    assert b":focus-visible" in b"".join(response.streaming_content)


def test_a_category_lists_its_visible_threads_newest_activity_first(client):
    peers = CategoryFactory(slug="peers", name="Peer support")
    older = make_thread(category=peers, title="Older thread")
    newer = make_thread(category=peers, title="Newer thread")
    make_thread(title="Elsewhere")
    held_author = _held_member()
    held = make_thread(author=held_author, category=peers, title="Held thread")
    assert held.visibility == Thread.Visibility.PENDING
    post_create(author=UserFactory(), thread=older, body="A reply brings it up")

    response = client.get("/c/peers/")
    assert response.status_code == 200
    page = assert_page_frame(response, "Peer support")
    threads = [a["href"] for a in page.all("a") if (a["href"] or "").startswith("/t/")]
    assert threads == [f"/t/{older.pk}/", f"/t/{newer.pk}/"]
    for viewer in (held_author, UserFactory(role=Role.MODERATOR)):  # lists show visible only
        assert "Held thread" not in signed_in(viewer).get("/c/peers/").content.decode()


def test_category_filters_and_numbered_pages(client):
    nurses = CategoryFactory(slug="ask-our-nurses", name="Ask Our Nurses", nurse_answered=True)
    moderator = UserFactory(role=Role.MODERATOR)
    threads = [make_thread(category=nurses, title=f"Question {n}") for n in range(22)]
    thread_close(actor=moderator, thread=threads[0], reason="Answered elsewhere.")

    def listed(query: str) -> list[str]:
        response = client.get(f"/c/ask-our-nurses/{query}")
        assert response.status_code == 200, query
        return [
            a["href"] for a in parse_page(response).all("a") if (a["href"] or "").startswith("/t/")
        ]

    first = listed("")
    assert len(first) == 20 and first[0] == f"/t/{threads[0].pk}/"  # closing is activity
    assert len(listed("?page=2")) == 2
    assert listed("?status=closed") == [f"/t/{threads[0].pk}/"]
    assert f"/t/{threads[0].pk}/" not in listed("?unanswered=true")
    assert len(listed("?unanswered=true&page=2")) == 1
    # A value the API would refuse is ignored; the page links keep the filters that held.
    assert len(listed("?status=nonsense")) == 20
    html = client.get("/c/ask-our-nurses/?status=open").content.decode()
    assert 'href="?status=open&amp;page=2"' in html
    assert '<a href="?status=open" aria-current="page">Open</a>' in html
    for query in ("?page=3", "?page=0", "?page=two"):
        assert client.get(f"/c/ask-our-nurses/{query}").status_code == 404, query


def test_an_unknown_category_is_the_branded_404(client):
    response = client.get("/c/no-such-category/")
    assert response.status_code == 404
    assert_page_frame(response, "Page not found")
    assert 'href="/"' in response.content.decode()


# --- The thread page --------------------------------------------------------------------------


def test_a_thread_shows_its_posts_oldest_first_with_cursor_pages(client):
    author = UserFactory(display_name="Sparrowhawk")
    thread = make_thread(author=author, title="Lump after surgery")
    replies = [
        post_create(author=UserFactory(), thread=thread, body=f"Reply {n}") for n in range(24)
    ]
    post_like(user=author, post=replies[0])

    response = client.get(f"/t/{thread.pk}/")
    assert response.status_code == 200
    page = assert_page_frame(response, "Lump after surgery")
    assert _h1(response) == "Lump after surgery"
    articles = page.all("article")
    assert len(articles) == 20
    ids = [int((a["id"] or "").removeprefix("post-")) for a in articles]
    first_post = Post.objects.filter(thread=thread).order_by("created_at", "id").first()
    assert ids[:2] == [first_post.pk, replies[0].pk]
    assert all("post" in (a["class"] or "").split() for a in articles)
    assert len(page.all("time")) == 20 and all(t["datetime"] for t in page.all("time"))
    html = response.content.decode()
    assert "Sparrowhawk" in html and "1 like" in html
    assert f'href="/c/{thread.category.slug}/"' in html

    later = page.all("a", rel="next")[0]["href"]
    assert later and later.startswith("?cursor=")
    second = client.get(f"/t/{thread.pk}/{later}")
    second_ids = [a["id"] for a in parse_page(second).all("article")]
    assert second_ids == [f"post-{p.pk}" for p in replies[19:]]
    earlier = parse_page(second).all("a", rel="prev")[0]["href"]
    assert [
        a["id"] for a in parse_page(client.get(f"/t/{thread.pk}/{earlier}")).all("article")
    ] == [a["id"] for a in articles]


def test_a_cursor_that_is_not_one_is_a_branded_400(client):
    thread = make_thread()
    response = client.get(f"/t/{thread.pk}/", {"cursor": "not-a-cursor"})
    assert response.status_code == 400
    assert_page_frame(response, "Something is wrong with that link")


def test_unknown_thread_is_404(client):
    for thread_id in ("999999", str(2**70)):  # past PostgreSQL's bigint too
        assert client.get(f"/t/{thread_id}/").status_code == 404


def _held_member() -> User:
    user = UserFactory(display_name="New Member")
    User.objects.filter(pk=user.pk).update(premoderated_indefinitely=True)
    return User.objects.get(pk=user.pk)


def test_held_and_hidden_threads_per_viewer_as_the_api():
    held_author = _held_member()
    held = make_thread(author=held_author, title="Held thread")
    hidden = make_thread(title="Hidden thread")
    moderator = UserFactory(role=Role.MODERATOR)
    post_hide(actor=moderator, post=Post.objects.filter(thread=hidden).get())
    viewers = {
        "anonymous": Client(),
        "author": signed_in(held_author),
        "member": signed_in(UserFactory()),
        "moderator": signed_in(moderator),
    }
    expected = {
        "anonymous": (404, 404),
        "author": (200, 404),
        "member": (404, 404),
        "moderator": (200, 200),
    }
    for who, client in viewers.items():
        pages = tuple(client.get(f"/t/{t.pk}/").status_code for t in (held, hidden))
        api = tuple(
            client.get(f"/api/v1/threads/{t.pk}/posts/").status_code for t in (held, hidden)
        )
        assert pages == api == expected[who], who
    author_page = viewers["author"].get(f"/t/{held.pk}/").content.decode()
    assert "Awaiting review" in author_page


def test_held_and_hidden_posts_per_viewer_as_the_api():
    thread = make_thread(title="A visible thread")
    held_author = _held_member()
    held = post_create(author=held_author, thread=thread, body="My held reply")
    moderator = UserFactory(role=Role.MODERATOR)
    hidden = post_create(author=UserFactory(), thread=thread, body="A hidden reply")
    post_hide(actor=moderator, post=hidden)
    viewers = {
        "anonymous": (Client(), set()),
        "author": (signed_in(held_author), {held.pk}),
        "member": (signed_in(UserFactory()), set()),
        "moderator": (signed_in(moderator), {held.pk, hidden.pk}),
    }
    for who, (client, extra) in viewers.items():
        page = parse_page(client.get(f"/t/{thread.pk}/"))
        shown = {int((a["id"] or "").removeprefix("post-")) for a in page.all("article")}
        api = {p["id"] for p in client.get(f"/api/v1/threads/{thread.pk}/posts/").json()["results"]}
        assert shown == api, who
        assert shown & {held.pk, hidden.pk} == extra, who
    author_html = viewers["author"][0].get(f"/t/{thread.pk}/").content.decode()
    article = author_html[author_html.index(f'id="post-{held.pk}"') :]
    assert "Awaiting review" in article[: article.index("</article>")]
    assert "Awaiting review" not in Client().get(f"/t/{thread.pk}/").content.decode()


def test_a_nurse_answer_shows_her_title_never_her_name(client):
    demo.install()
    nurses = CategoryFactory(slug="ask-our-nurses", name="Ask Our Nurses", nurse_answered=True)
    nurse = UserFactory(display_name="Helen Smith", email="helen.smith@haven.test", role=Role.NURSE)
    question = make_thread(
        author=UserFactory(display_name="Sparrowhawk"), category=nurses, title="Lump after surgery"
    )
    answer = nurse_answer_create(
        nurse=nurse, thread=question, body="Hi, thanks for asking.", signposts=[], close=True
    )
    for viewer in (client, signed_in(question.author), signed_in(nurse)):
        response = viewer.get(f"/t/{question.pk}/")
        html = response.content.decode()
        assert "Helen Smith" not in html and "helen.smith" not in html
        page = parse_page(response)
        [article] = [a for a in page.all("article") if a["id"] == f"post-{answer.pk}"]
        assert "post-nurse" in (article["class"] or "").split()
        assert '<span class="badge badge-nurse">Breast Care Nurse</span>' in html
        notices = re.findall(r'<p class="notice notice-closed">(.*?)</p>', html, re.S)
        assert len(notices) == 1 and "closed to new replies by Breast Care Nurse" in notices[0]


def test_a_closed_thread_shows_the_closing_notice(client):
    thread = make_thread(title="Heated")
    thread_close(actor=UserFactory(role=Role.MODERATOR), thread=thread, reason="Off topic now.")
    html = client.get(f"/t/{thread.pk}/").content.decode()
    assert re.search(
        r'<p class="notice notice-closed">[^<]*by Moderator\. Off topic now\.</p>', html
    )
    assert "notice-closed" not in client.get(f"/t/{make_thread().pk}/").content.decode()


def test_sensitive_posts_sit_behind_a_content_warning(client):
    thread = make_thread()
    with policy.registered(screens=(lambda user, text: Screening(sensitive="scan" in text),)):
        post = post_create(author=UserFactory(), thread=thread, body="My scan showed spread")
    assert post.sensitive
    html = client.get(f"/t/{thread.pk}/").content.decode()
    article = html[html.index(f'id="post-{post.pk}"') :]
    article = article[: article.index("</article>")]
    assert re.search(
        r'<details class="sensitive"><summary>Content warning — open to read</summary>\s*'
        r'<div class="post-body"><p>My scan showed spread</p>',
        article,
    )
    assert article.count("<details") == 1


def test_crisis_support_shows_to_the_posts_author_only():
    author = UserFactory()
    thread = make_thread()
    html = "<p>Samaritans: call 116 123, any time.</p>"
    with policy.registered(
        screens=(lambda user, text: Screening(safeguarding="crisis" in text),),
        support={"crisis": lambda kind: html},
    ):
        post_create(author=author, thread=thread, body="crisis: I cannot go on")
        own = signed_in(author).get(f"/t/{thread.pk}/").content.decode()
        other = signed_in(UserFactory()).get(f"/t/{thread.pk}/").content.decode()
        public = Client().get(f"/t/{thread.pk}/").content.decode()
    assert f'<aside class="support" aria-label="Support">{html}</aside>' in own
    assert "Samaritans" not in other and "Samaritans" not in public


def test_a_muted_members_posts_come_collapsed():
    viewer = UserFactory()
    noisy = UserFactory(display_name="Noisy")
    thread = make_thread()
    post_create(author=noisy, thread=thread, body="Something")
    assert signed_in(viewer).post(f"/api/v1/members/{noisy.pk}/mute/").status_code == 200
    html = signed_in(viewer).get(f"/t/{thread.pk}/").content.decode()
    assert "<summary>You muted Noisy — open to read</summary>" in html
    assert "You muted" not in Client().get(f"/t/{thread.pk}/").content.decode()


def test_the_header_shows_a_signed_in_members_unread_count(client):
    author = UserFactory()
    thread = make_thread(author=author)
    make_reply(author=UserFactory(), thread=thread, body="A reply she is told about")
    html = signed_in(author).get("/").content.decode()
    assert re.search(r'Notifications <span class="unread">\(1 unread\)</span>', html)
    assert "unread" not in client.get("/").content.decode()


# --- Errors -----------------------------------------------------------------------------------


def test_a_non_api_404_is_branded_and_the_api_keeps_its_json(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert_page_frame(response, "Page not found")
    api = client.get("/api/v1/no-such-endpoint/")
    assert api.status_code == 404
    assert api.json() == {"code": "not_found", "detail": "Not found.", "fields": {}}
    api_thread = client.get("/api/v1/threads/999999/")
    assert (api_thread.status_code, api_thread.json()["code"]) == (404, "not_found")


def test_the_500_page_is_branded_and_reads_no_database(django_assert_num_queries):
    request = RequestFactory().get("/t/1/")
    with django_assert_num_queries(0):
        try:
            raise RuntimeError("a bug")
        except RuntimeError:
            response = handler500(request)
    assert response.status_code == 500
    html = response.content.decode()
    assert '<html lang="en-GB">' in html and '<main id="main" tabindex="-1">' in html
    assert "<h1>Something went wrong</h1>" in html and 'href="/"' in html


def test_pages_are_not_api_operations(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    assert all(path.startswith(("/api/", "/_allauth/")) for path in schema["paths"])


# --- Query budgets ----------------------------------------------------------------------------


@pytest.mark.parametrize("size", [3, 60])
@pytest.mark.parametrize("as_member", [False, True])
def test_pages_cost_a_constant_number_of_queries(size, as_member, django_assert_num_queries):
    """The thread page costs what the API's posts page does: the thread and the page, plus
    the user behind the session and the header's unread count when signed in."""
    viewer = UserFactory()
    others = [UserFactory() for _ in range(4)]
    category = CategoryFactory(slug="peers", name="Peers")
    big = make_thread(author=viewer, category=category, title="The big thread")
    for n in range(size):
        post = post_create(author=others[n % 4], thread=big, body=f"Reply {n}")
        if n % 2:
            post_like(user=viewer, post=post)
    post_hide(actor=UserFactory(role=Role.MODERATOR), post=post)
    with policy.registered(screens=(lambda user, text: Screening(safeguarding="crisis" in text),)):
        for n in range(3):
            post_create(author=viewer, thread=big, body=f"crisis {n}")
    for n in range(size):
        make_thread(author=others[n % 4], category=category, title=f"Another thread {n}")
    client = signed_in(viewer) if as_member else Client()
    extra = 2 if as_member else 0  # the session's user, the header's unread count

    # A renderer reading the database once per call, as the real one reads service hours;
    # the viewer's crisis posts are on the first page of the small thread only.
    rendered = 1 if as_member and size == 3 else 0
    with policy.registered(support={"crisis": lambda kind: f"<p>{User.objects.count()}</p>"}):
        # The thread + the page (for the public, first what its cached page is stamped with).
        with django_assert_num_queries(2 + extra + rendered + (0 if as_member else 1)):
            response = client.get(f"/t/{big.pk}/")
        # Again: the public's page comes whole from the cache, after the thread's version (a
        # member's is rendered for her: her CSRF token is masked afresh each time).
        with django_assert_num_queries(2 + extra + rendered if as_member else 1):
            again = client.get(f"/t/{big.pk}/")
        assert again.status_code == 200
        assert as_member or again.content == response.content
        with CaptureQueriesContext(connection) as api:
            assert client.get(f"/api/v1/threads/{big.pk}/posts/").status_code == 200
    assert response.status_code == 200
    assert len(parse_page(response).all("article")) == min(20, size + 3)  # one reply hidden
    # The API's posts page, the same budget but for the header it has not.
    assert len(api) == 2 + extra + rendered - (1 if as_member else 0)

    # The category (its row holds the count) and the page's keys; the page's rows only when
    # not cached. No COUNT of its threads: that was one query more.
    with django_assert_num_queries(3 + extra):
        response = client.get("/c/peers/")
    assert len(parse_page(response).all("li", **{"class": "thread-row"})) == min(20, size + 1)
    with django_assert_num_queries(2 + extra):
        again = client.get("/c/peers/")
    assert again.content.split(b"<main")[1] == response.content.split(b"<main")[1]

    with django_assert_num_queries(1 + extra):
        assert client.get("/").status_code == 200
