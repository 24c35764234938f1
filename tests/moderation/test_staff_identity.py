"""No nurse ever named or linkable: the identity of staff content is fixed when written.

The scan at the end walks every GET route of the URL resolver (new endpoints are covered
without touching this file), fills its ids from real rows, and looks for any staff member's
display name, email or user id in every response, anonymous and signed in.
"""

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.core import mail
from django.db import connection
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from accounts.models import User
from accounts.roles import Role
from accounts.services import user_set_role
from forum.models import Category, Notification, Post, Thread
from forum.outbox import notification_emails_send
from forum.services import post_create, post_like, thread_close, thread_follow
from moderation.answers import nurse_answer_correct, nurse_answer_create
from moderation.flags import flag_create
from moderation.models import ReviewItem
from tests.factories import CategoryFactory, UserFactory, make_thread, run_fan_out
from tests.utils import client_for, token_client

pytestmark = pytest.mark.django_db

STAFF_IDS = iter(range(7_700_001, 7_700_100))


def _staff(**fields: Any) -> User:
    """A staff member whose user id is a number no count or other id on the page can be."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('accounts_user', 'id'), %s, false)",
            [next(STAFF_IDS)],
        )
    return UserFactory(**fields)


def _answer(nurse: User, thread: Thread, **fields: Any) -> Post:
    fields = {
        "body": "Hi Sparrowhawk, thanks for posting.",
        "signposts": [],
        "close": False,
    } | fields
    return nurse_answer_create(nurse=nurse, thread=thread, **fields)


def _public(thread: Thread) -> tuple[Any, Any]:
    client = APIClient()
    detail = client.get(f"/api/v1/threads/{thread.pk}/").json()
    posts = client.get(f"/api/v1/threads/{thread.pk}/posts/").json()["results"]
    return detail, posts


def test_demoting_a_nurse_changes_nothing_she_published(ask_our_nurses, nurse):
    asker = UserFactory(display_name="Sparrowhawk")
    question = make_thread(author=asker, category=ask_our_nurses)
    answer = _answer(nurse, question, close=True)
    run_fan_out()  # the answer's job, after the commit: the asker told
    before = _public(question)
    closed_by = before[0]["closed_by"]
    assert closed_by == {
        "id": None,
        "display_name": "Breast Care Nurse",
        "role": "nurse",
        "title": "Breast Care Nurse",
    }
    assert [p["author"] for p in before[1] if p["kind"] == "nurse_answer"] == [closed_by]

    user_set_role(user=nurse, role=Role.MEMBER)
    nurse.title = "Lung Cancer Nurse"  # a later title changes nothing published either
    nurse.save()

    assert _public(question) == before
    notification = Notification.objects.get(recipient=asker, post=answer)
    listed = client_for(asker).get("/api/v1/notifications/").json()["results"]
    assert [n["actor"] for n in listed if n["id"] == notification.pk] == [closed_by]
    # Emails leave after the commit, perhaps after the demotion: the same fixed identity.
    notification_emails_send(post_id=answer.pk)
    assert len(mail.outbox) == 1
    assert "A Breast Care Nurse has answered" in mail.outbox[0].body
    assert "Helen" not in mail.outbox[0].body


def test_what_a_member_wrote_stays_hers_after_she_joins_the_nurses(ask_our_nurses):
    helen = UserFactory(display_name="Helen Smith")
    thread = make_thread(author=helen, category=ask_our_nurses)
    user_set_role(user=helen, role=Role.NURSE)
    detail, posts = _public(thread)
    member = {"id": helen.pk, "display_name": "Helen Smith", "role": "member", "title": None}
    assert detail["author"] == posts[0]["author"] == member
    helen.is_active = False  # erased later: a former member, never a nurse
    helen.save()
    detail, _ = _public(thread)
    assert detail["author"] == {
        "id": None,
        "display_name": "Former member",
        "role": "member",
        "title": None,
    }


def test_a_superuser_without_the_nurse_role_neither_answers_nor_closes(ask_our_nurses):
    admin = UserFactory(display_name="Site Admin", is_superuser=True)
    question = make_thread(author=UserFactory(), category=ask_our_nurses)
    client = client_for(admin)
    for method, url, payload in (
        ("post", f"/api/v1/threads/{question.pk}/nurse-answer/", {"body": "Hello"}),
        ("get", "/api/v1/signposts/", None),
        ("get", "/api/v1/nurse/queue/", None),
    ):
        response = getattr(client, method)(url, payload, format="json")
        assert (response.status_code, response.json()["code"]) == (403, "not_nurse"), url
    response = client.post(f"/api/v1/threads/{question.pk}/close/", {}, format="json")
    assert (response.status_code, response.json()["code"]) == (403, "not_allowed")
    assert not Post.objects.filter(thread=question).exclude(kind="post").exists()
    user_set_role(user=admin, role=Role.NURSE)  # with the role, the same account answers
    response = client_for(admin).post(
        f"/api/v1/threads/{question.pk}/nurse-answer/", {"body": "Hello"}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["author"]["display_name"] == "Breast Care Nurse"


def test_moderators_close_as_moderator_and_write_as_moderator():
    moderator = UserFactory(display_name="Oliver Brown", role=Role.MODERATOR)
    thread = make_thread()
    post_create(author=moderator, thread=thread, body="Please keep this thread kind.")
    thread_close(actor=moderator, thread=thread, reason="Heated.")
    detail, posts = _public(thread)
    staff = {"id": None, "display_name": "Moderator", "role": "moderator", "title": "Moderator"}
    assert detail["closed_by"] == staff
    assert posts[1]["author"] == staff


def test_the_author_filter_never_leads_to_what_a_nurse_wrote_as_a_nurse(ask_our_nurses, nurse):
    question = make_thread(author=nurse, category=ask_our_nurses, title="A nurse's own thread")
    assert APIClient().get("/api/v1/threads/", {"author": nurse.pk}).json()["results"] == []
    user_set_role(user=nurse, role=Role.MEMBER)
    mine = make_thread(author=nurse, title="Now writing as a member")
    listed = APIClient().get("/api/v1/threads/", {"author": nurse.pk}).json()["results"]
    assert [t["id"] for t in listed] == [mine.pk]
    assert question.pk not in [t["id"] for t in listed]


# --- The scan ---------------------------------------------------------------------------------


def _routes() -> Iterator[str]:
    def walk(patterns: list[Any], prefix: str) -> Iterator[str]:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
            else:
                assert isinstance(pattern, URLPattern)
                yield prefix + str(pattern.pattern)

    for route in walk(get_resolver().url_patterns, "/"):
        if not route.startswith(("/admin/", "/static/")):
            # allauth's routes are regular expressions: their groups become parameters.
            yield re.sub(r"\(\?P<(\w+)>[^)]*\)", r"<\1>", route).replace("^", "").replace("$", "")


def _urls(ids: dict[str, list[int]]) -> Iterator[str]:
    """Every GET route with each of its ids taken from real rows (all of them)."""
    for route in _routes():
        params = re.findall(r"<(?:\w+:)?(\w+)>", route)
        unknown = set(params) - set(ids)
        assert not unknown, f"{route}: give the scan real rows for {unknown}"
        urls = [route]
        for name in params:
            urls = [
                re.sub(rf"<(?:\w+:)?{name}>", str(value), url)
                for url in urls
                for value in ids[name]
            ]
        yield from urls


def _values(data: Any) -> Iterator[Any]:
    if isinstance(data, dict):
        for key, value in data.items():
            yield key
            yield from _values(value)
    elif isinstance(data, list):
        for value in data:
            yield from _values(value)
    else:
        yield data


def _leaks(body: bytes, staff: list[User]) -> list[str]:
    text = body.decode()
    found = [
        f"{person.display_name}: {secret!r}"
        for person in staff
        for secret in (person.display_name, person.email)
        if secret.lower() in text.lower()
    ]
    digits = {str(person.pk): person for person in staff}
    for person in staff:
        # An id in a URL or text; not the fraction of a second of a timestamp.
        if re.search(rf"(?<![\d.]){person.pk}(?!\d)", text):
            found.append(f"{person.display_name}: id {person.pk} in the text")
    try:
        data = json.loads(text)
    except ValueError:
        return found
    found += [f"{digits[str(v)].display_name}: id {v}" for v in _values(data) if str(v) in digits]
    return found


def test_no_get_endpoint_names_or_links_any_staff_member(ask_our_nurses):
    asker = UserFactory(display_name="Sparrowhawk", email="sparrow@haven.test")
    reader = UserFactory(display_name="Bonnie52", email="bonnie@haven.test")
    helen = _staff(
        display_name="Helen Smith",
        email="helen.smith@haven.test",
        role=Role.NURSE,
        sign_off="Best wishes,\nBreast Care Nurse",
    )
    margaret = _staff(
        display_name="Margaret Jones", email="margaret.jones@haven.test", role=Role.NURSE
    )
    margaret.title = "Secondary Breast Care Nurse"
    margaret.save()
    oliver = _staff(
        display_name="Oliver Brown", email="oliver.brown@haven.test", role=Role.MODERATOR
    )
    staff = [helen, margaret, oliver]
    peers = CategoryFactory(slug="recurrence", name="Recurrence")

    answered = make_thread(author=asker, category=ask_our_nurses, title="Lump after surgery")
    post_create(author=reader, thread=answered, body="Me too, following.")
    closing = _answer(helen, answered, close=True, signposts=["helpline"])
    post_like(user=asker, post=closing)
    second = make_thread(author=reader, category=ask_our_nurses, title="Scan results wait")
    thread_follow(user=asker, thread=second)
    first_answer = _answer(margaret, second)
    _answer(helen, second, follow_up=True, body="A follow-up from the team.")
    nurse_answer_correct(
        nurse=margaret, post=first_answer, body="Corrected.", signposts=[], reason="Typo"
    )
    run_fan_out()  # the jobs of the posts so far, after their commits
    user_set_role(user=margaret, role=Role.MEMBER)  # demoted after answering
    peer = make_thread(author=asker, category=peers, title="Feeling low after treatment")
    post_create(author=helen, thread=peer, body="You are not alone in this.")
    post_create(author=oliver, thread=peer, body="A reminder to keep this thread kind.")
    thread_close(actor=oliver, thread=peer, reason="Closed by the moderators.")
    make_thread(author=helen, category=peers, title="A nurse starts a thread")
    flag_create(flagger=reader, post=closing, reason="misinformation")  # a review item
    run_fan_out()
    assert Notification.objects.filter(recipient=asker).exists()

    ids = {
        "thread_id": list(Thread.objects.values_list("pk", flat=True)),
        "post_id": list(Post.objects.values_list("pk", flat=True)),
        "item_id": list(ReviewItem.objects.values_list("pk", flat=True)),
        "member_id": list(User.objects.values_list("pk", flat=True)),
        "slug": list(Category.objects.values_list("slug", flat=True)),
        # allauth's keyed pages (confirm an email, set a new password) with a stale key
        "key": ["0-stale"],
        "uidb36": ["1"],
    }
    extra = [
        f"/api/v1/threads/?{query}"
        for query in (
            *(f"author={person.pk}" for person in staff),
            "q=nurse",
            "unanswered=true",
            "status=closed",
            f"category={ask_our_nurses.slug}",
        )
    ] + ["/api/v1/threads/similar/?title=Lump after surgery"]

    seen = {"Breast Care Nurse": 0, "Secondary Breast Care Nurse": 0, "Moderator": 0}
    scanned = badges = 0
    for who, client in (("anonymous", APIClient()), ("member", token_client(asker))):
        client.raise_request_exception = False  # a failing route is reported, not fatal here
        urls = [*_urls(ids), *extra]
        while urls:
            url = urls.pop()
            response = client.get(url)
            if not url.startswith("/_allauth/"):  # (the accounts' tests' part)
                assert response.status_code < 500, (who, url)
            assert _leaks(response.content, staff) == [], (who, url)
            scanned += 1
            text = response.content.decode()
            for title in seen:
                seen[title] += f'"display_name":"{title}"' in text
            badges += '<span class="badge badge-nurse">Breast Care Nurse</span>' in text
            if response.get("Content-Type", "").startswith("application/json"):
                next_page = response.json().get("next") if text.startswith("{") else None
                if next_page:
                    urls.append(next_page)
        for person in staff:
            listed = client.get("/api/v1/threads/", {"author": person.pk}).json()["results"]
            assert listed == [], (who, person.display_name)
    # The world really showed staff content, under titles only.
    assert all(seen.values()), seen
    assert badges, "the thread pages showed no nurse answer"
    assert scanned > 100


def test_a_nurse_without_a_title_answers_under_the_default_one(ask_our_nurses, nurse):
    User.objects.filter(pk=nurse.pk).update(title="")  # e.g. cleared from a shell
    nurse.refresh_from_db()
    post = _answer(nurse, make_thread(category=ask_our_nurses))
    assert (post.author_role, post.author_title) == ("nurse", "Breast Care Nurse")


def test_a_blank_title_is_the_default_one_everywhere_it_shows(ask_our_nurses):
    """The sign-off template, her badge on /me/ and the answer's author: one rule."""
    nurse = UserFactory(display_name="Care Team 9", role=Role.NURSE)  # no sign-off of her own
    User.objects.filter(pk=nurse.pk).update(title="")
    nurse.refresh_from_db()
    post = _answer(nurse, make_thread(category=ask_our_nurses))
    assert "Best wishes\n\nBreast Care Nurse" in post.body  # the demo's sign-off template
    assert (post.author_role, post.author_title) == ("nurse", "Breast Care Nurse")
    assert nurse.public_title == "Breast Care Nurse"
    assert client_for(nurse).get("/api/v1/me/").json()["title"] == "Breast Care Nurse"
