"""The members' writing pages through Django's test client: each action's happy path and its
refusals (the service's own, shown on the page), nothing half-written on bad input, CSRF,
signing in first, the shared posting throttle, htmx fragments, and query budgets."""

import re
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from allauth.account.models import EmailAddress
from django.test import Client
from django.utils import timezone

from accounts.models import User
from accounts.roles import Role
from core.errors import BadRequest
from forum import policy
from forum.models import Like, Notification, Post, Subscription, Thread
from forum.policy import Screening
from forum.services import post_create, post_hide, post_like, thread_close
from tests.factories import CategoryFactory, UserFactory, make_reply, make_thread
from tests.pages import assert_page_frame, parse_page
from tests.utils import client_for, page_messages, race, signed_in, throttle_rates

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def _html(response: Any) -> str:
    return response.content.decode()


def _article(html: str, post: Post) -> str:
    start = html.index(f'id="post-{post.pk}"')
    return html[start : html.index("</article>", start)]


def _posts_of(thread: Thread) -> list[Post]:
    return list(Post.objects.filter(thread=thread).order_by("created_at", "id"))


def _blocking(word: str) -> Any:
    """A screen refusing any text with ``word``, as moderation's blocked words do."""

    def screen(author: User, text: str) -> Screening:
        if word in text:
            raise BadRequest("blocked_content", "This can't be posted on Haven.")
        return Screening()

    return policy.registered(screens=(screen,))


def _held_member() -> User:
    user = UserFactory()
    User.objects.filter(pk=user.pk).update(premoderated_indefinitely=True)
    return User.objects.get(pk=user.pk)


@pytest.fixture
def peers():
    return CategoryFactory(slug="peers", name="Peer support")


@pytest.fixture
def thread(member, peers):
    return make_thread(author=member, category=peers, title="Tiredness after radiotherapy")


# --- New thread -------------------------------------------------------------------------------


def test_the_category_page_links_to_a_new_thread(client, peers):
    html = _html(client.get("/c/peers/"))
    assert '<a class="button-link" href="/c/peers/new/">Start a new thread</a>' in html


def test_a_member_starts_a_thread_and_lands_on_it(member, peers):
    client = signed_in(member)
    form = client.get("/c/peers/new/")
    assert form.status_code == 200
    page = assert_page_frame(form, "Start a new thread")
    assert [i["name"] for i in page.all("input") if i.get("type") == "text"] == ["title"]
    assert page.all("textarea")[0]["name"] == "body"
    assert '<label for="id_title">Title</label>' in _html(form)
    assert '<label for="id_body">Your message</label>' in _html(form)
    [region] = page.all("section", id="suggestions")
    assert region["aria-live"] == "polite"
    [title] = page.all("input", name="title")
    assert title["hx-get"] == "/suggest/" and title["hx-trigger"] == "input changed delay:300ms"
    assert title["hx-target"] == "#suggestions"

    response = client.post(
        "/c/peers/new/", {"title": "  Walking  helps? ", "body": "Does it?", "action": "post"}
    )
    thread = Thread.objects.get()
    assert response.status_code == 303 and response["Location"] == f"/t/{thread.pk}/"
    assert thread.title == "Walking helps?" and thread.category.slug == "peers"
    assert Subscription.objects.filter(user=member, thread=thread).exists()
    landed = client.get(response["Location"])
    assert page_messages(landed) == ["Your thread is posted."]


def test_a_held_thread_says_it_awaits_review():
    author = _held_member()
    CategoryFactory(slug="peers")
    client = signed_in(author)
    response = client.post("/c/peers/new/", {"title": "My first question", "body": "Hello"})
    assert response.status_code == 303
    landed = client.get(response["Location"])
    assert page_messages(landed)[0].startswith("Your thread is awaiting review")
    assert Thread.objects.get().visibility == Thread.Visibility.PENDING


def test_bad_input_shows_every_error_and_writes_nothing(member, peers):
    make_thread(category=peers, title="Tiredness after radiotherapy")
    response = signed_in(member).post(
        "/c/peers/new/", {"title": "Tiredness help", "body": "   ", "action": "post"}
    )
    assert response.status_code == 400
    assert Thread.objects.count() == 1
    html = _html(response)
    page = assert_page_frame(response, "Error: Start a new thread")
    [summary] = page.all("div", role="alert")
    assert summary["class"] == "error-summary"
    assert 'href="#id_body">The post must be at least 1 character long.</a>' in html
    [body] = page.all("textarea", name="body")
    assert body["aria-invalid"] == "true" and body["aria-describedby"] == "id_body-error"
    assert 'id="id_body-error"' in html
    [title] = page.all("input", name="title")
    assert title["value"] == "Tiredness help" and "aria-invalid" not in title  # the title was fine
    # The form came back with errors: what was asked before shows too.
    assert "Tiredness after radiotherapy" in html


def test_blocked_content_is_a_form_error_and_nothing_is_written(member, peers):
    with _blocking("forbidden"):
        response = signed_in(member).post(
            "/c/peers/new/", {"title": "A forbidden title", "body": "Text"}
        )
    assert response.status_code == 400
    assert "This can&#x27;t be posted on Haven." in _html(response)
    assert parse_page(response).all("div", role="alert")
    assert not Thread.objects.exists() and not Post.objects.exists()


def test_checking_for_similar_threads_writes_nothing(member, peers):
    older = make_thread(category=peers, title="Fatigue after radiotherapy")
    response = signed_in(member).post(
        "/c/peers/new/",
        {"title": "Radiotherapy fatigue tips", "body": "Draft", "action": "check"},
    )
    assert response.status_code == 200
    assert Thread.objects.count() == 1
    html = _html(response)
    region = html[html.index('id="suggestions"') :]
    region = region[: region.index("</section>")]
    assert '<h2 id="suggestions-title">Asked before?</h2>' in region
    assert f'<a href="/t/{older.pk}/">Fatigue after radiotherapy</a>' in region
    assert "Draft</textarea>" in html  # the draft is kept


def test_suggestions_as_an_htmx_fragment_and_as_a_page(client, peers):
    older = make_thread(category=peers, title="Fatigue after radiotherapy")
    make_thread(category=peers, title="Hair loss")
    fragment = client.get("/suggest/", {"title": "radiotherapy fatigue"}, **HTMX)
    assert fragment.status_code == 200
    html = _html(fragment)
    assert "<html" not in html and "Asked before?" in html
    assert re.findall(r'href="/t/(\d+)/"', html) == [str(older.pk)]
    nothing = _html(client.get("/suggest/", {"title": "zebra"}, **HTMX))
    assert "No similar threads found for “zebra”." in nothing
    empty = _html(client.get("/suggest/", {"title": "  "}, **HTMX))
    assert "show here as you type" in empty
    page = client.get("/suggest/", {"title": "radiotherapy"})
    assert_page_frame(page, "Asked before?")
    assert f'href="/t/{older.pk}/"' in _html(page)


def test_live_validation_checks_one_field_and_writes_nothing(member, peers, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "posting": "1/min",
        },
    }
    client = signed_in(member)
    page = parse_page(client.get("/c/peers/new/"))
    [wrapper] = page.all("div", id="field-title")
    assert wrapper["hx-trigger"] == "change" and wrapper["hx-select"] == "#field-title > .field"
    assert wrapper["aria-live"] == "polite" and wrapper["hx-disinherit"] == "*"

    def check(field: str, **data: str) -> str:
        response = client.post("/c/peers/new/", {"action": "validate", "field": field, **data})
        assert response.status_code == 200
        return _html(response)

    html = check("title", title="Hi", body="")
    field = html[html.index('<div id="field-title"') : html.index('<div id="field-body"')]
    assert "The title must be at least 5 characters long." in field
    assert 'aria-invalid="true"' in field
    assert "The post must be" not in html  # the field left, not the one not yet written
    assert 'aria-invalid="true"' not in check("title", title="A good title", body="")
    assert "The post must be at least 1 character long." in check("body", title="", body=" ")
    assert not Thread.objects.exists()
    assert client.post("/c/peers/new/", {"action": "validate", "field": "x"}).status_code == 400
    # None of it counted against the posting throttle.
    assert client.post("/c/peers/new/", {"title": "A good title", "body": "B"}).status_code == 303


def test_an_unknown_category_has_no_new_thread_page(member):
    assert signed_in(member).get("/c/nowhere/new/").status_code == 404


# --- Signed out, CSRF -------------------------------------------------------------------------


def test_signed_out_visitors_are_sent_to_sign_in_first(client, thread):
    post = _posts_of(thread)[0]
    for method, url in [
        ("get", "/c/peers/new/"),
        ("post", "/c/peers/new/"),
        ("get", f"/t/{thread.pk}/reply/"),
        ("post", f"/t/{thread.pk}/reply/"),
        ("post", f"/t/{thread.pk}/follow/"),
        ("get", f"/p/{post.pk}/edit/"),
        ("get", f"/p/{post.pk}/delete/"),
        ("post", f"/p/{post.pk}/like/"),
        ("get", "/notifications/"),
        ("post", "/notifications/"),
    ]:
        response = getattr(client, method)(url, {"body": "x"} if method == "post" else None)
        assert response.status_code == 302, url
        assert response["Location"] == f"/account/login/?next={url}", url
    assert Post.objects.count() == 1 and not Like.objects.exists()
    # htmx would swap the sign-in page into a button: it is told to load it instead.
    htmx = client.post(
        f"/p/{post.pk}/like/", **HTMX, HTTP_HX_CURRENT_URL=f"http://x/t/{thread.pk}/"
    )
    assert htmx["HX-Redirect"] == f"/account/login/?next=/t/{thread.pk}/"
    # Reading stays open to everyone.
    assert client.get(f"/p/{post.pk}/").status_code == 302
    assert client.get("/search/").status_code == 200


def test_every_form_posts_with_its_csrf_token(member, thread):
    bonnie = UserFactory()
    reply = post_create(author=bonnie, thread=thread, body="Mine")
    client = signed_in(member, enforce_csrf_checks=True)
    posts = [
        (f"/t/{thread.pk}/reply/", {"body": "Hello"}),
        ("/c/peers/new/", {"title": "A new thread", "body": "Hello"}),
        (f"/p/{reply.pk}/like/", {"action": "like"}),
        (f"/t/{thread.pk}/follow/", {"action": "unfollow"}),
        (f"/p/{_posts_of(thread)[0].pk}/edit/", {"body": "Changed"}),
        (f"/p/{_posts_of(thread)[0].pk}/delete/", {}),
        ("/notifications/", {}),
    ]
    for url, data in posts:
        assert client.post(url, data).status_code == 403, url
        assert client.post(url, data, **HTMX).status_code == 403, url
    assert Post.objects.count() == 2 and Thread.objects.count() == 1
    assert not Like.objects.exists()
    assert Subscription.objects.filter(user=member, thread=thread).exists()

    # The token the thread page's own form carries is accepted.
    html = _html(client.get(f"/t/{thread.pk}/"))
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert token
    sent = client.post(
        f"/t/{thread.pk}/reply/", {"body": "Hello", "csrfmiddlewaretoken": token.group(1)}
    )
    assert sent.status_code == 303 and Post.objects.count() == 3


# --- Replies ----------------------------------------------------------------------------------


def test_the_thread_page_offers_a_reply_box_to_members_only(client, member, thread):
    anonymous = _html(client.get(f"/t/{thread.pk}/"))
    assert "Your reply" not in anonymous
    assert f'href="/account/login/?next=/t/{thread.pk}/">Sign in to reply</a>' in anonymous
    page = parse_page(signed_in(member).get(f"/t/{thread.pk}/"))
    [form] = [f for f in page.all("form") if f.get("action") == f"/t/{thread.pk}/reply/"]
    assert form["method"] == "post"
    assert '<label for="id_body">Your reply</label>' in _html(
        signed_in(member).get(f"/t/{thread.pk}/")
    )

    suspended = UserFactory()
    User.objects.filter(pk=suspended.pk).update(suspended_indefinitely=True)
    html = _html(signed_in(User.objects.get(pk=suspended.pk)).get(f"/t/{thread.pk}/"))
    assert "Your reply" not in html and "Your account is suspended" in html


def test_a_closed_thread_has_no_reply_box_for_anyone(thread, member):
    moderator = UserFactory(role=Role.MODERATOR)
    nurse = UserFactory(role=Role.NURSE)
    thread_close(actor=moderator, thread=thread, reason="Answered.")
    for viewer in (Client(), signed_in(member), signed_in(moderator), signed_in(nurse)):
        html = _html(viewer.get(f"/t/{thread.pk}/"))
        assert "Your reply" not in html and "Sign in to reply" not in html
    response = signed_in(member).post(f"/t/{thread.pk}/reply/", {"body": "Late"})
    assert response.status_code == 403
    assert "This thread is closed to new replies." in _html(response)
    assert not Post.objects.filter(body="Late").exists()
    alone = signed_in(member).get(f"/t/{thread.pk}/reply/")
    assert alone.status_code == 200 and "Your reply" not in _html(alone)


def test_a_reply_lands_on_the_page_that_shows_it(thread, member):
    bonnie = UserFactory(display_name="Bonnie52")
    for n in range(25):
        post_create(author=member, thread=thread, body=f"Reply {n}")
    client = signed_in(bonnie)
    response = client.post(f"/t/{thread.pk}/reply/", {"body": "Walking *helped* me"})
    post = Post.objects.get(body="Walking *helped* me")
    assert response.status_code == 303
    location = response["Location"]
    assert location.startswith(f"/t/{thread.pk}/?cursor=") and location.endswith(f"#post-{post.pk}")
    landed = client.get(location)
    assert page_messages(landed) == ["Your reply is posted."]
    assert "<p>Walking <em>helped</em> me</p>" in _article(_html(landed), post)
    thread.refresh_from_db()
    assert thread.reply_count == 26


def test_a_held_reply_awaits_review_and_shows_so_to_its_author_only(thread):
    author = _held_member()
    client = signed_in(author)
    response = client.post(f"/t/{thread.pk}/reply/", {"body": "Held words"})
    post = Post.objects.get(body="Held words")
    assert post.status == Post.Status.PENDING
    landed = client.get(response["Location"])
    assert page_messages(landed)[0].startswith("Your reply is awaiting review")
    assert "Awaiting review" in _article(_html(landed), post)
    assert "Held words" not in _html(Client().get(f"/t/{thread.pk}/"))


def test_crisis_signposting_shows_on_her_reply(thread):
    author = UserFactory()
    with policy.registered(
        screens=(lambda user, text: Screening(safeguarding="cannot go on" in text),),
        support={"crisis": lambda kind: "<p>Samaritans: 116 123</p>"},
    ):
        client = signed_in(author)
        response = client.post(f"/t/{thread.pk}/reply/", {"body": "I cannot go on"})
        html = _html(client.get(response["Location"]))
    post = Post.objects.get(body="I cannot go on")
    assert "Samaritans: 116 123" in _article(html, post)


def test_reply_errors_show_on_the_reply_page_and_nothing_is_written(thread, member):
    client = signed_in(member)
    response = client.post(f"/t/{thread.pk}/reply/", {"body": "  "})
    assert response.status_code == 400
    assert_page_frame(response, f"Error: Reply: {thread.title}")
    html = _html(response)
    assert 'href="#id_body">The post must be at least 1 character long.</a>' in html
    assert '<label for="id_body">Your reply</label>' in html
    with _blocking("forbidden"):
        blocked = client.post(f"/t/{thread.pk}/reply/", {"body": "a forbidden word"})
    assert blocked.status_code == 400 and "a forbidden word</textarea>" in _html(blocked)
    assert Post.objects.filter(thread=thread).count() == 1


def test_an_unverified_member_is_told_to_verify_on_sending(thread):
    unverified = UserFactory()
    EmailAddress.objects.filter(user=unverified).update(verified=False)
    client = signed_in(unverified)
    assert "Your reply" in _html(client.get(f"/t/{thread.pk}/"))
    response = client.post(f"/t/{thread.pk}/reply/", {"body": "Hello"})
    assert response.status_code == 403
    assert "Please verify your email address before posting." in _html(response)
    assert "Hello</textarea>" in _html(response)
    assert Post.objects.filter(thread=thread).count() == 1


def test_page_and_api_posts_share_one_throttle(thread, member, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "posting": "3/min",
        },
    }
    client = signed_in(member)
    assert client.post(f"/t/{thread.pk}/reply/", {"body": "One"}).status_code == 303
    api = client_for(member).post(
        f"/api/v1/threads/{thread.pk}/posts/", {"body": "Two"}, format="json"
    )
    assert api.status_code == 201
    assert client.post("/c/peers/new/", {"title": "Third try", "body": "Three"}).status_code == 303
    refused = client.post(f"/t/{thread.pk}/reply/", {"body": "Four"})
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 60
    assert re.search(r"Please wait \d+ seconds?, then send it again\.", _html(refused))
    assert "Four</textarea>" in _html(refused)  # nothing typed is lost
    new = client.post("/c/peers/new/", {"title": "Fourth try", "body": "Four"})
    assert new.status_code == 429 and "Retry-After" in new
    assert (
        client_for(member)
        .post(f"/api/v1/threads/{thread.pk}/posts/", {"body": "Five"}, format="json")
        .status_code
        == 429
    )
    assert not Post.objects.filter(body__in=["Four", "Five"]).exists()
    # "Check for similar threads" writes nothing and is not counted.
    assert client.post("/c/peers/new/", {"title": "x", "action": "check"}).status_code == 200
    # Another member has her own allowance.
    other = signed_in(UserFactory())
    assert other.post(f"/t/{thread.pk}/reply/", {"body": "Mine"}).status_code == 303


# --- Edit and delete --------------------------------------------------------------------------


def test_an_author_edits_her_post_within_the_window(thread, member):
    reply = post_create(author=member, thread=thread, body="Frist")
    client = signed_in(member)
    thread_html = _html(client.get(f"/t/{thread.pk}/"))
    assert f'<a href="/p/{reply.pk}/edit/">Edit</a>' in _article(thread_html, reply)
    form = client.get(f"/p/{reply.pk}/edit/")
    assert form.status_code == 200
    assert_page_frame(form, "Edit post")
    assert '<label for="id_body">Your message</label>' in _html(form)
    assert ">\nFrist</textarea>" in _html(form)
    response = client.post(f"/p/{reply.pk}/edit/", {"body": "First"})
    assert response.status_code == 303 and response["Location"].endswith(f"#post-{reply.pk}")
    reply.refresh_from_db()
    assert reply.body == "First" and reply.edited_at is not None
    assert page_messages(client.get(response["Location"])) == ["Your changes are saved."]
    # Others see no Edit link on her post.
    other = _html(signed_in(UserFactory()).get(f"/t/{thread.pk}/"))
    assert f"/p/{reply.pk}/edit/" not in other


def test_after_the_window_there_is_a_clear_message_and_no_form(thread, member):
    reply = post_create(author=member, thread=thread, body="Old words")
    client = signed_in(member)
    with time_machine.travel(timezone.now() + timedelta(minutes=61)):
        assert f"/p/{reply.pk}/edit/" not in _html(client.get(f"/t/{thread.pk}/"))
        for response in (
            client.get(f"/p/{reply.pk}/edit/"),
            client.post(f"/p/{reply.pk}/edit/", {"body": "New words"}),
        ):
            assert response.status_code == 403
            assert_page_frame(response, "This post cannot be edited")
            assert "Posts can be edited for 60 minutes after posting." in _html(response)
            assert "<textarea" not in _html(response)
    reply.refresh_from_db()
    assert reply.body == "Old words"


def test_nurse_answers_and_other_members_posts_refuse_edits(thread, member):
    from moderation import demo
    from moderation.answers import nurse_answer_create

    demo.install()
    nurses = CategoryFactory(slug="ask-our-nurses", name="Ask Our Nurses", nurse_answered=True)
    thread = make_thread(author=member, category=nurses, title="A question for the nurses")
    nurse = UserFactory(role=Role.NURSE)
    answer = nurse_answer_create(
        nurse=nurse, thread=thread, body="Hello", signposts=[], close=False
    )
    nurse_page = signed_in(nurse).get(f"/p/{answer.pk}/edit/")
    assert nurse_page.status_code == 403
    assert "A nurse answer changes only through a correction" in _html(nurse_page)
    assert "<textarea" not in _html(nurse_page)
    nurse_thread = _html(signed_in(nurse).get(f"/t/{thread.pk}/"))
    assert f"/p/{answer.pk}/edit/" not in nurse_thread
    assert f"/p/{answer.pk}/delete/" not in nurse_thread
    for method in ("get", "post"):
        kept = getattr(signed_in(nurse), method)(f"/p/{answer.pk}/delete/")
        assert kept.status_code == 403 and "Nurse answers are kept as published." in _html(kept)
    assert Post.objects.get(pk=answer.pk).status == Post.Status.VISIBLE
    others = signed_in(UserFactory()).post(f"/p/{_posts_of(thread)[0].pk}/edit/", {"body": "x"})
    assert others.status_code == 403 and "You can only edit your own posts." in _html(others)
    assert _posts_of(thread)[0].body == "What treatments might be offered after a local recurrence?"


def test_edit_errors_keep_the_post_as_it_was(thread, member):
    reply = post_create(author=member, thread=thread, body="As it was")
    client = signed_in(member)
    empty = client.post(f"/p/{reply.pk}/edit/", {"body": ""})
    assert empty.status_code == 400
    assert 'aria-invalid="true"' in _html(empty)
    with _blocking("forbidden"):
        blocked = client.post(f"/p/{reply.pk}/edit/", {"body": "forbidden"})
    assert blocked.status_code == 400 and "This can&#x27;t be posted on Haven." in _html(blocked)
    reply.refresh_from_db()
    assert reply.body == "As it was" and reply.edited_at is None


def test_an_author_deletes_her_post_after_confirming(thread, member):
    reply = post_create(author=member, thread=thread, body="Too much")
    client = signed_in(member)
    assert f'<a href="/p/{reply.pk}/delete/">Delete</a>' in _html(client.get(f"/t/{thread.pk}/"))
    confirm = client.get(f"/p/{reply.pk}/delete/")
    assert_page_frame(confirm, "Delete post")
    assert "Too much" in _html(confirm) and "Delete post</button>" in _html(confirm)
    assert Post.objects.get(pk=reply.pk).status == Post.Status.VISIBLE  # a GET writes nothing
    response = client.post(f"/p/{reply.pk}/delete/")
    assert response.status_code == 303
    reply.refresh_from_db()
    assert reply.status == Post.Status.DELETED and reply.body == ""
    assert "This post was deleted." in _html(client.get(response["Location"]))
    others = signed_in(UserFactory())
    mine = _posts_of(thread)[0]
    assert others.get(f"/p/{mine.pk}/delete/").status_code == 403
    assert others.post(f"/p/{mine.pk}/delete/").status_code == 403
    assert Post.objects.get(pk=mine.pk).status == Post.Status.VISIBLE


def test_the_edit_and_delete_pages_let_whom_the_services_let(thread, member):
    """The services call a moderator whoever holds ``forum.moderate_post``, whatever her
    role: the pages ask the same, so the page and the API never disagree."""
    from django.contrib.auth.models import Permission

    reply = post_create(author=member, thread=thread, body="Off topic")
    trusted = UserFactory()  # a member by role, given the permission directly
    trusted.user_permissions.add(Permission.objects.get(codename="moderate_post"))
    api = client_for(trusted).patch(
        f"/api/v1/posts/{reply.pk}/", {"body": "On topic", "reason": "tidy"}, format="json"
    )
    assert api.status_code == 200
    client = signed_in(trusted)
    form = client.get(f"/p/{reply.pk}/edit/")
    assert form.status_code == 200 and "Save changes</button>" in _html(form)
    edited = client.post(f"/p/{reply.pk}/edit/", {"body": "Back on topic", "reason": "tidy"})
    assert edited.status_code == 303
    reply.refresh_from_db()
    assert reply.body == "Back on topic"
    confirm = client.get(f"/p/{reply.pk}/delete/")
    assert confirm.status_code == 200 and "Delete post</button>" in _html(confirm)
    assert client.post(f"/p/{reply.pk}/delete/").status_code == 303
    assert Post.objects.get(pk=reply.pk).status == Post.Status.DELETED
    # Without the permission, the same member is refused on both, as by the API.
    plain = signed_in(UserFactory())
    other = post_create(author=member, thread=thread, body="Mine")
    assert plain.get(f"/p/{other.pk}/edit/").status_code == 403
    assert plain.get(f"/p/{other.pk}/delete/").status_code == 403


# --- Likes and follows ------------------------------------------------------------------------


def test_like_and_unlike_without_javascript(thread, member):
    post = _posts_of(thread)[0]
    bonnie = UserFactory()
    client = signed_in(bonnie)
    html = _article(_html(client.get(f"/t/{thread.pk}/")), post)
    assert 'aria-pressed="false">Like</button>' in html and "0 likes" in html
    response = client.post(f"/p/{post.pk}/like/", {"action": "like"})
    assert response.status_code == 303 and response["Location"] == f"/t/{thread.pk}/#post-{post.pk}"
    landed = client.get(response["Location"])
    assert page_messages(landed) == ["You liked this post."]
    html = _article(_html(landed), post)
    assert 'aria-pressed="true">Unlike</button>' in html and "1 like<" in html
    client.post(f"/p/{post.pk}/like/", {"action": "like"})  # twice is once
    assert Post.objects.get(pk=post.pk).like_count == 1
    client.post(f"/p/{post.pk}/like/", {"action": "unlike"})
    assert Post.objects.get(pk=post.pk).like_count == 0 and not Like.objects.exists()
    # Her own post has no button; forcing it is refused with the service's reason.
    own = signed_in(member)
    assert f"/p/{post.pk}/like/" not in _html(own.get(f"/t/{thread.pk}/"))
    refused = own.post(f"/p/{post.pk}/like/", {"action": "like"})
    assert page_messages(own.get(refused["Location"])) == ["You can&#x27;t like your own post."]


def test_like_with_htmx_answers_the_button_and_count(thread):
    post = _posts_of(thread)[0]
    client = signed_in(UserFactory())
    response = client.post(f"/p/{post.pk}/like/", {"action": "like"}, **HTMX)
    assert response.status_code == 200
    html = _html(response)
    assert "<html" not in html
    assert '<p class="likes">1 like</p>' in html
    assert f'id="like-button-{post.pk}" aria-pressed="true">Unlike</button>' in html
    assert f'hx-post="/p/{post.pk}/like/"' in html and "csrfmiddlewaretoken" in html
    undone = _html(client.post(f"/p/{post.pk}/like/", {"action": "unlike"}, **HTMX))
    assert '<p class="likes">0 likes</p>' in undone and 'aria-pressed="false">Like<' in undone
    unverified = UserFactory()
    EmailAddress.objects.filter(user=unverified).update(verified=False)
    refused = signed_in(unverified).post(f"/p/{post.pk}/like/", {"action": "like"}, **HTMX)
    assert "Please verify your email address" in _html(refused)
    assert 'aria-pressed="false"' in _html(refused) and not Like.objects.exists()


def test_liking_by_htmx_a_post_hidden_since_the_page_loaded_says_so(thread, member):
    """htmx swaps no 4xx answer: the box answers 200 with the reason, in its live region."""
    reply = post_create(author=member, thread=thread, body="Soon hidden")
    client = signed_in(UserFactory())
    html = _article(_html(client.get(f"/t/{thread.pk}/")), reply)
    assert f'id="likes-{reply.pk}" aria-live="polite"' in html
    post_hide(actor=UserFactory(role=Role.MODERATOR), post=reply, reason="spam")
    response = client.post(f"/p/{reply.pk}/like/", {"action": "like"}, **HTMX)
    assert response.status_code == 200
    fragment = _html(response)
    assert "<html" not in fragment
    assert '<p class="field-error">This post is no longer on Haven.</p>' in fragment
    assert "<button" not in fragment and not Like.objects.exists()
    # Without htmx, the page is what any vanished page is: a 404.
    assert client.post(f"/p/{reply.pk}/like/", {"action": "like"}).status_code == 404


def test_follow_and_unfollow(thread):
    bonnie = UserFactory()
    client = signed_in(bonnie)
    html = _html(client.get(f"/t/{thread.pk}/"))
    assert 'aria-pressed="false">Follow thread</button>' in html
    back = f"/t/{thread.pk}/?cursor=abc"
    response = client.post(f"/t/{thread.pk}/follow/", {"action": "follow", "next": back})
    assert response.status_code == 303 and response["Location"] == back
    assert Subscription.objects.filter(user=bonnie, thread=thread).exists()
    html = _html(client.get(f"/t/{thread.pk}/"))
    assert 'aria-pressed="true">Unfollow thread</button>' in html
    fragment = _html(client.post(f"/t/{thread.pk}/follow/", {"action": "unfollow"}, **HTMX))
    assert "<html" not in fragment and 'aria-pressed="false">Follow thread<' in fragment
    assert not Subscription.objects.filter(user=bonnie, thread=thread).exists()
    elsewhere = client.post(
        f"/t/{thread.pk}/follow/", {"action": "follow", "next": "https://evil.example/"}
    )
    assert elsewhere["Location"] == f"/t/{thread.pk}/"
    client.post(f"/t/{thread.pk}/follow/", {"action": "unfollow"})
    # A suspended member may still stop following.
    User.objects.filter(pk=bonnie.pk).update(suspended_indefinitely=True)
    assert client.post(f"/t/{thread.pk}/follow/", {"action": "follow"}).status_code == 303
    assert not Subscription.objects.filter(user=bonnie, thread=thread).exists()
    Subscription.objects.create(user=bonnie, thread=thread)
    client.post(f"/t/{thread.pk}/follow/", {"action": "unfollow"})
    assert not Subscription.objects.filter(user=bonnie, thread=thread).exists()


# --- Permalinks -------------------------------------------------------------------------------


def _page_ids(client: Client, location: str) -> list[int]:
    path = location.split("#")[0]
    response = client.get(path)
    assert response.status_code == 200
    return [int((a["id"] or "")[5:]) for a in parse_page(response).all("article")]


def test_a_permalink_opens_the_page_that_holds_the_post(client, thread):
    others = [UserFactory() for _ in range(3)]
    replies = [
        post_create(author=others[n % 3], thread=thread, body=f"Reply {n}") for n in range(59)
    ]
    for post in [_posts_of(thread)[0], replies[18], replies[19], replies[45], replies[-1]]:
        response = client.get(f"/p/{post.pk}/")
        assert response.status_code == 302
        assert response["Location"].endswith(f"#post-{post.pk}")
        assert post.pk in _page_ids(client, response["Location"]), post.body
    deep = client.get(f"/p/{replies[45].pk}/")["Location"]
    assert deep.startswith(f"/t/{thread.pk}/?cursor=")
    assert _page_ids(client, deep) == [p.pk for p in replies[39:59]]


def test_a_permalink_is_exact_when_posts_share_a_timestamp(client, thread):
    """Posts written in the same microsecond: the cursor's position alone cannot tell them
    apart, its offset must."""
    author = UserFactory()
    with time_machine.travel(timezone.now() + timedelta(minutes=1), tick=False):
        same = [post_create(author=author, thread=thread, body=f"Same {n}") for n in range(30)]
    later = [post_create(author=author, thread=thread, body=f"Later {n}") for n in range(15)]
    everything = _posts_of(thread)
    for post in [same[0], same[18], same[19], same[29], later[0], later[-1]]:
        location = client.get(f"/p/{post.pk}/")["Location"]
        index = everything.index(post)
        start = index // 20 * 20
        assert _page_ids(client, location) == [p.pk for p in everything[start : start + 20]]


def test_a_permalink_counts_only_what_the_viewer_sees(thread):
    moderator = UserFactory(role=Role.MODERATOR)
    replies = [post_create(author=UserFactory(), thread=thread, body=f"R {n}") for n in range(25)]
    for post in replies[:5]:
        post_hide(actor=moderator, post=post)
    target = replies[20]  # 22nd for a moderator, 17th for anyone else
    public = Client().get(f"/p/{target.pk}/")["Location"]
    assert public == f"/t/{thread.pk}/#post-{target.pk}"
    staff = signed_in(moderator)
    assert target.pk in _page_ids(staff, staff.get(f"/p/{target.pk}/")["Location"])
    assert Client().get(f"/p/{replies[0].pk}/").status_code == 404
    assert Client().get("/p/999999/").status_code == 404


# --- Notifications ----------------------------------------------------------------------------


def test_notifications_list_link_and_mark_read(member, thread):
    bonnie = UserFactory(display_name="Bonnie52")
    first = make_reply(author=bonnie, thread=thread, body="First reply")
    second = make_reply(author=bonnie, thread=thread, body="Second reply")
    Notification.objects.filter(post=first).update(read_at=timezone.now())
    make_thread(author=bonnie)  # nothing for her
    client = signed_in(member)
    response = client.get("/notifications/")
    assert response.status_code == 200
    page = assert_page_frame(response, "Notifications")
    html = _html(response)
    items = page.all("li", **{"class": "notification notification-unread"})
    assert len(items) == 1 and len(page.all("li", **{"class": "notification"})) == 1
    links = [a["href"] for a in page.all("a") if (a["href"] or "").startswith("/p/")]
    assert links == [f"/p/{second.pk}/", f"/p/{first.pk}/"]  # newest first
    assert html.count('<span class="badge badge-unread">Unread</span>') == 1
    assert "Bonnie52" in html and "(1 unread)" in html
    assert "Mark all as read</button>" in html
    marked = client.post("/notifications/")
    assert marked.status_code == 303 and marked["Location"] == "/notifications/"
    after = client.get("/notifications/")
    assert page_messages(after) == ["All your notifications are marked as read."]
    assert "(0 unread)" in _html(after) and "badge-unread" not in _html(after)
    assert not Notification.objects.filter(recipient=member, read_at__isnull=True).exists()


def test_notifications_come_in_cursor_pages(member, thread):
    bonnie = UserFactory()
    posts = [make_reply(author=bonnie, thread=thread, body=f"R {n}") for n in range(32)]
    client = signed_in(member)
    first = parse_page(client.get("/notifications/"))
    assert len(first.all("li", **{"class": "notification notification-unread"})) == 30
    older = first.all("a", rel="next")[0]["href"]
    second = parse_page(client.get(f"/notifications/{older}"))
    links = [a["href"] for a in second.all("a") if (a["href"] or "").startswith("/p/")]
    assert links == [f"/p/{posts[1].pk}/", f"/p/{posts[0].pk}/"]
    assert client.get("/notifications/?cursor=nonsense").status_code == 400


# --- Search -----------------------------------------------------------------------------------


def test_search_finds_what_the_api_finds(client, peers):
    found = make_thread(category=peers, title="Scalp cooling and hair loss")
    make_thread(category=peers, title="Walking groups", body="Every Tuesday")
    held = make_thread(author=_held_member(), category=peers, title="Held hair loss")
    empty = client.get("/search/")
    page = assert_page_frame(empty, "Search")
    assert '<label for="id_q">Search Haven</label>' in _html(empty)
    assert page.all("form", role="search")[0]["method"] == "get"
    assert "found" not in _html(empty)
    response = client.get("/search/", {"q": "hair loss"})
    assert response.status_code == 200
    assert_page_frame(response, "Search: hair loss")
    links = [
        a["href"] for a in parse_page(response).all("a") if (a["href"] or "").startswith("/t/")
    ]
    api = client.get("/api/v1/threads/", {"q": "hair loss"}).json()["results"]
    assert links == [f"/t/{t['id']}/" for t in api] == [f"/t/{found.pk}/"]
    assert held.pk not in [t["id"] for t in api]
    assert "Nothing matches" in _html(client.get("/search/", {"q": "zebra"}))
    too_long = client.get("/search/", {"q": "x" * 201})
    assert too_long.status_code == 400 and 'aria-invalid="true"' in _html(too_long)
    assert_page_frame(too_long, "Error: Search: " + "x" * 201)


def test_search_pages_by_number(client, peers):
    for n in range(23):
        make_thread(category=peers, title=f"Lymphoedema question {n}")
    first = parse_page(client.get("/search/", {"q": "lymphoedema"}))
    assert len(first.all("li", **{"class": "thread-row"})) == 20
    nxt = first.all("a", rel="next")[0]["href"]
    assert nxt == "?q=lymphoedema&page=2"
    assert len(parse_page(client.get(f"/search/{nxt}")).all("li", **{"class": "thread-row"})) == 3
    assert client.get("/search/", {"q": "lymphoedema", "page": "9"}).status_code == 404


def test_searching_shares_the_apis_anonymous_rate(client, peers, settings):
    throttle_rates(settings, anon="3/min")
    make_thread(category=peers, title="Scalp cooling and hair loss")
    assert client.get("/search/").status_code == 200  # the form alone is not counted
    assert client.get("/search/", {"q": "hair"}).status_code == 200
    assert client.get("/api/v1/threads/", {"q": "hair"}).status_code == 200
    assert client.get("/suggest/", {"title": "hair"}).status_code == 200
    refused = client.get("/search/", {"q": "hair loss"})
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 60
    page = assert_page_frame(refused, "Error: Search: hair loss")
    assert page.all("div", **{"class": "error-summary", "role": "alert"})
    assert re.search(r"Please wait \d+ seconds?, then try again\.", _html(refused))
    assert 'value="hair loss"' in _html(refused)  # what she typed is kept
    assert "found</h2>" not in _html(refused)
    assert client.get("/api/v1/threads/", {"q": "hair"}).status_code == 429
    slow = client.get("/suggest/", {"title": "hair"})
    assert slow.status_code == 429 and "Retry-After" in slow
    assert_page_frame(slow, "Error: Asked before?")
    # htmx swaps no 429: the suggestions region says it instead (it is aria-live).
    fragment = client.get("/suggest/", {"title": "hair"}, **HTMX)
    assert fragment.status_code == 200
    assert "Please wait" in _html(fragment) and "<html" not in _html(fragment)
    assert "Scalp cooling" not in _html(fragment)


def test_searching_shares_the_apis_rate_per_member(member, peers, settings):
    throttle_rates(settings, user="2/min")
    client = signed_in(member)
    assert client.get("/search/", {"q": "hair"}).status_code == 200
    assert client_for(member).get("/api/v1/threads/", {"q": "hair"}).status_code == 200
    assert client.get("/search/", {"q": "hair"}).status_code == 429
    assert client.get("/suggest/", {"title": "hair"}, **HTMX).status_code == 200
    # Another member, and anyone signed out, have their own allowance.
    assert signed_in(UserFactory()).get("/search/", {"q": "hair"}).status_code == 200
    assert Client().get("/search/", {"q": "hair"}).status_code == 200


# --- Axe-free checks of every new page's frame, and query budgets -----------------------------


@pytest.mark.parametrize("size", [2, 30])
def test_new_pages_cost_a_constant_number_of_queries(size, django_assert_num_queries, peers):
    viewer = UserFactory()
    others = [UserFactory() for _ in range(3)]
    thread = make_thread(author=viewer, category=peers, title="Fatigue tips")
    for n in range(size):
        post = post_create(author=others[n % 3], thread=thread, body=f"fatigue reply {n}")
        post_like(user=viewer, post=post)
        make_thread(author=others[n % 3], category=peers, title=f"Fatigue thread {n}")
    mine = _posts_of(thread)[0]
    client = signed_in(viewer)
    session = 2  # the session's user, the header's unread count

    with django_assert_num_queries(session + 1):  # the category
        assert client.get("/c/peers/new/").status_code == 200
    with django_assert_num_queries(2):  # the user, the similar threads (a fragment: no header)
        assert client.get("/suggest/", {"title": "fatigue tips"}, **HTMX).status_code == 200
    with django_assert_num_queries(session + 1):  # the thread
        assert client.get(f"/t/{thread.pk}/reply/").status_code == 200
    with django_assert_num_queries(session + 1):  # the post and its thread
        assert client.get(f"/p/{mine.pk}/edit/").status_code == 200
    with django_assert_num_queries(session + 1):  # the post and its thread
        assert client.get(f"/p/{mine.pk}/delete/").status_code == 200
    with django_assert_num_queries(session + 1):  # the page of notifications
        assert client.get("/notifications/").status_code == 200
    with django_assert_num_queries(session + 2):  # count, page
        assert client.get("/search/", {"q": "fatigue"}).status_code == 200
    deep = Post.objects.filter(thread=thread).order_by("-created_at").first()
    # the post and thread; then, past page 1: rows before it, the page's first row, the rest
    with django_assert_num_queries(1 + 1 + (3 if size > 20 else 1)):
        assert client.get(f"/p/{deep.pk}/").status_code == 302


@pytest.mark.django_db(transaction=True)
def test_a_double_click_on_like_counts_once():
    """Two presses of the same button racing (one by htmx, one by a plain form): one like."""
    thread = make_thread()
    post = _posts_of(thread)[0]
    member = UserFactory()
    answers: list[int] = []

    def press(headers: dict[str, str]) -> None:
        response = signed_in(member).post(f"/p/{post.pk}/like/", {"action": "like"}, **headers)
        answers.append(response.status_code)

    assert race([lambda: press(HTMX), lambda: press({})]) == []
    assert sorted(answers) == [200, 303]
    post.refresh_from_db()
    thread.refresh_from_db()
    assert post.like_count == Like.objects.filter(post=post).count() == 1
    assert thread.like_count == 1
