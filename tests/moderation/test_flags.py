"""Flags: who may flag what, one open flag per member, the hiding threshold, safeguarding."""

import pytest
from rest_framework.test import APIClient

from core.models import AuditEntry
from forum.models import Notification, Post, Thread
from forum.services import post_create, post_hide, thread_close
from moderation.models import Flag, ReviewItem
from moderation.queue import review_resolve
from tests.factories import UserFactory, make_thread
from tests.utils import client_for, race

pytestmark = pytest.mark.django_db


@pytest.fixture
def reply(db):
    thread = make_thread(author=UserFactory(display_name="Opener"))
    return post_create(
        author=UserFactory(display_name="Replier"), thread=thread, body="Try this miracle cure."
    )


def flag(user, post, reason="misinformation", note=""):
    return client_for(user).post(
        f"/api/v1/posts/{post.pk}/flags/", {"reason": reason, "note": note}, format="json"
    )


def test_a_flag_creates_the_posts_review_item_and_later_ones_join_it(reply):
    first, second = UserFactory(), UserFactory()
    response = flag(first, reply, note="No evidence for this")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["post"] == reply.pk and body["reason"] == "misinformation"
    assert body["note"] == "No evidence for this" and body["support"] is None
    assert flag(second, reply, reason="spam").status_code == 201

    item = ReviewItem.objects.get(post=reply)
    assert item.status == "pending" and not item.urgent and not item.held
    assert item.reasons == {"misinformation": 1, "spam": 1}
    assert item.score == 6
    assert list(item.flags.values_list("flagger", flat=True).order_by("id")) == [
        first.pk,
        second.pk,
    ]
    reply.refresh_from_db()
    assert reply.status == "visible"  # two flags hide nothing


def test_one_open_flag_per_member_per_post_and_again_once_it_is_closed(reply, moderator):
    flagger = UserFactory()
    assert flag(flagger, reply).status_code == 201
    again = flag(flagger, reply, reason="spam")
    assert again.status_code == 409 and again.json()["code"] == "already_flagged"
    item = ReviewItem.objects.get(post=reply)
    assert item.reasons == {"misinformation": 1}  # the refused flag counted nothing

    review_resolve(moderator=moderator, item=item, action="dismiss")
    assert flag(flagger, reply, reason="spam").status_code == 201
    assert Flag.objects.filter(post=reply, flagger=flagger).count() == 2
    assert ReviewItem.objects.filter(post=reply, status="pending").count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_same_member_flagging_twice_at_once_gets_one_flag():
    thread = make_thread(author=UserFactory())
    post = post_create(author=UserFactory(), thread=thread, body="Something to flag")
    flagger = UserFactory()
    statuses: list[int] = []

    def attempt() -> None:
        statuses.append(flag(flagger, post).status_code)

    assert race([attempt, attempt, attempt]) == []
    assert sorted(statuses) == [201, 409, 409]
    assert Flag.objects.filter(post=post, flagger=flagger, is_open=True).count() == 1
    assert ReviewItem.objects.get(post=post).reasons == {"misinformation": 1}


def test_never_ones_own_post_a_notice_or_a_post_one_cannot_see(reply, moderator):
    own = flag(reply.author, reply)
    assert own.status_code == 403 and own.json()["code"] == "own_post"

    thread_close(actor=moderator, thread=reply.thread, reason="Resolved")
    notice = Post.objects.get(thread=reply.thread, kind="system")
    refused = flag(UserFactory(), notice)
    assert refused.status_code == 403 and refused.json()["code"] == "not_flaggable"

    post_hide(actor=moderator, post=reply, reason="Spam")
    assert flag(UserFactory(), reply).status_code == 404
    assert flag(UserFactory(), Post(pk=10**9, thread_id=reply.thread_id)).status_code == 404
    assert not Flag.objects.exists()


def test_flagging_needs_a_member_who_may_write(reply):
    anonymous = APIClient().post(
        f"/api/v1/posts/{reply.pk}/flags/", {"reason": "spam"}, format="json"
    )
    assert anonymous.status_code == 401
    unverified = flag(UserFactory(verified=False), reply)
    assert unverified.status_code == 403 and unverified.json()["code"] == "email_unverified"
    suspended = UserFactory()
    suspended.suspended_indefinitely = True
    suspended.save(update_fields=["suspended_indefinitely"])
    refused = flag(suspended, reply)
    assert refused.status_code == 403 and refused.json()["code"] == "suspended"
    bad = flag(UserFactory(), reply, reason="boring")
    assert bad.status_code == 400 and "reason" in bad.json()["fields"]
    long_note = flag(UserFactory(), reply, note="x" * 1001)
    assert long_note.status_code == 400 and "note" in long_note.json()["fields"]
    assert not Flag.objects.exists()


def test_flags_from_three_members_hide_the_post_until_reviewed(reply, settings):
    assert settings.HAVEN_FLAG_HIDE_THRESHOLD == 3
    thread = reply.thread
    reader = UserFactory()
    first, second = UserFactory(), UserFactory()
    assert flag(first, reply).status_code == 201
    assert flag(second, reply).status_code == 201
    assert flag(second, reply).status_code == 409  # the same member twice counts once
    reply.refresh_from_db()
    assert reply.status == "visible"
    assert Thread.objects.get(pk=thread.pk).reply_count == 1

    assert flag(UserFactory(), reply, reason="inappropriate").status_code == 201
    reply.refresh_from_db()
    assert reply.status == "hidden"
    assert Thread.objects.get(pk=thread.pk).reply_count == 0
    posts = client_for(reader).get(f"/api/v1/threads/{thread.pk}/posts/").json()["results"]
    assert [p["id"] for p in posts] == [thread.posts.order_by("id").first().pk]

    hidden_by = AuditEntry.objects.for_target(reply).get(action="post_hidden")
    assert hidden_by.actor_id is None and hidden_by.data["by_flags"] is True
    told = Notification.objects.get(recipient=reply.author, kind="post_hidden")
    assert told.post_id == reply.pk
    item = ReviewItem.objects.get(post=reply)
    assert item.status == "pending" and sum(item.reasons.values()) == 3


def test_a_threshold_on_settings_is_honoured(reply, settings):
    settings.HAVEN_FLAG_HIDE_THRESHOLD = 1
    assert flag(UserFactory(), reply).status_code == 201
    reply.refresh_from_db()
    assert reply.status == "hidden"


def test_a_nurse_answer_is_never_hidden_by_flags_but_becomes_urgent(ask_our_nurses, nurse):
    from moderation.answers import nurse_answer_create

    thread = make_thread(author=UserFactory(), category=ask_our_nurses)
    answer = nurse_answer_create(nurse=nurse, thread=thread, body="Hi", signposts=[], close=False)
    for _ in range(2):
        assert flag(UserFactory(), answer).status_code == 201
    assert not ReviewItem.objects.get(post=answer).urgent
    assert flag(UserFactory(), answer).status_code == 201
    answer.refresh_from_db()
    assert answer.status == "visible"
    assert ReviewItem.objects.get(post=answer).urgent


def test_a_safeguarding_flag_is_urgent_and_signposts_the_author_and_the_flagger(reply, crisis_html):
    response = flag(UserFactory(), reply, reason="safeguarding", note="They sound in danger")
    assert response.status_code == 201
    assert response.json()["support"] == {"kind": "crisis", "html": crisis_html}
    item = ReviewItem.objects.get(post=reply)
    assert item.urgent and item.reasons == {"safeguarding": 1} and item.score == 10
    reply.refresh_from_db()
    assert reply.support_kind == "crisis"
    assert reply.status == "visible"  # not hidden by this alone


def test_the_flagging_throttle_counts_each_members_reports(settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "flagging": "2/min",
        },
    }
    thread = make_thread(author=UserFactory())
    posts = [post_create(author=UserFactory(), thread=thread, body=f"Post {n}") for n in range(3)]
    flagger = UserFactory()
    assert [flag(flagger, p).status_code for p in posts] == [201, 201, 429]
    assert flag(UserFactory(), posts[2]).status_code == 201


@pytest.mark.parametrize(("earlier_flags", "queries"), [(0, 19), (1, 16), (6, 16)])
def test_flagging_costs_a_constant_number_of_queries(
    reply, earlier_flags, queries, settings, django_assert_num_queries
):
    """Auth (2), the post, then under its locks: thread, post, open-flag check, flag count,
    the item (found, or inserted in a savepoint), its update and score, the flag insert;
    savepoints are most of the rest. However many flags the post has already."""
    settings.HAVEN_FLAG_HIDE_THRESHOLD = 10
    for _ in range(earlier_flags):
        assert flag(UserFactory(), reply).status_code == 201
    client = client_for(UserFactory())
    with django_assert_num_queries(queries):
        response = client.post(
            f"/api/v1/posts/{reply.pk}/flags/", {"reason": "spam"}, format="json"
        )
    assert response.status_code == 201
