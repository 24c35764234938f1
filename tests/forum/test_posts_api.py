"""Replies, edits, soft deletes, likes and follows, with every refusal in API.md's shape."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.roles import Role
from forum.models import Like, Post, Subscription
from forum.services import thread_close
from tests.factories import UserFactory, make_thread
from tests.utils import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def thread(member):
    return make_thread(author=member)


@pytest.fixture
def bonnie():
    return UserFactory(display_name="Bonnie52")


def _reply(user, thread, body="I had the same, here is what happened."):
    return client_for(user).post(
        f"/api/v1/threads/{thread.pk}/posts/", {"body": body}, format="json"
    )


def test_a_reply_is_added_counted_and_followed(thread, bonnie):
    response = _reply(bonnie, thread, "Hello, I've *just* read your message :slight_smile:")
    assert response.status_code == 201
    body = response.json()
    assert body["thread"] == thread.pk
    assert body["author"]["display_name"] == "Bonnie52"
    assert body["kind"] == "post"
    assert body["body_html"] == "<p>Hello, I've <em>just</em> read your message 🙂</p>\n"
    assert body["liked_by_me"] is False
    assert body["edited_at"] is None
    thread.refresh_from_db()
    assert thread.reply_count == 1
    assert thread.last_activity_at == Post.objects.get(pk=body["id"]).created_at
    assert Subscription.objects.filter(user=bonnie, thread=thread).exists()


def test_a_reply_to_a_missing_thread_is_404(bonnie):
    response = client_for(bonnie).post(
        "/api/v1/threads/424242/posts/", {"body": "hi"}, format="json"
    )
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("", "The post must be at least 1 character long."),
        (" \n\t ", "The post must be at least 1 character long."),
        ("x" * 20_001, "The post must be at most 20,000 characters long (it has 20,001)."),
    ],
)
def test_a_bad_reply_is_a_field_error(thread, bonnie, body, message):
    response = _reply(bonnie, thread, body)
    assert response.status_code == 400
    assert response.json()["fields"] == {"body": [message]}
    thread.refresh_from_db()
    assert thread.reply_count == 0


def test_a_closed_thread_refuses_replies_but_stays_readable_and_likeable(thread, bonnie, member):
    post = Post.objects.get(pk=_reply(bonnie, thread).json()["id"])
    thread_close(actor=UserFactory(role=Role.MODERATOR), thread=thread)
    response = _reply(member, thread)
    assert response.status_code == 403
    assert response.json() == {
        "code": "thread_closed",
        "detail": "This thread is closed to new replies. You can start a new thread instead.",
        "fields": {},
    }
    assert APIClient().get(f"/api/v1/threads/{thread.pk}/posts/").status_code == 200
    liked = client_for(member).post(f"/api/v1/posts/{post.pk}/like/")
    assert liked.status_code == 200
    assert liked.json() == {"like_count": 1, "liked_by_me": True}


def test_authors_edit_within_the_window_only(thread, bonnie):
    post_id = _reply(bonnie, thread).json()["id"]
    response = client_for(bonnie).patch(
        f"/api/v1/posts/{post_id}/", {"body": "Edited **text**"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["body_html"] == "<p>Edited <strong>text</strong></p>\n"
    assert response.json()["edited_at"] is not None

    with time_machine.travel(timezone.now() + timedelta(minutes=61)):
        late = client_for(bonnie).patch(
            f"/api/v1/posts/{post_id}/", {"body": "Too late"}, format="json"
        )
    assert late.status_code == 403
    assert late.json()["code"] == "edit_window_passed"
    assert late.json()["detail"] == "Posts can be edited for 60 minutes after posting."
    assert Post.objects.get(pk=post_id).body == "Edited **text**"


def test_nobody_edits_someone_elses_post_but_a_moderator(thread, bonnie, member):
    post_id = _reply(bonnie, thread).json()["id"]
    response = client_for(member).patch(
        f"/api/v1/posts/{post_id}/", {"body": "Mine now"}, format="json"
    )
    assert response.status_code == 403
    assert response.json()["code"] == "not_author"

    moderator = UserFactory(display_name="Community Team 1", role=Role.MODERATOR)
    with time_machine.travel(timezone.now() + timedelta(days=3)):
        response = client_for(moderator).patch(
            f"/api/v1/posts/{post_id}/", {"body": "Edited by a moderator"}, format="json"
        )
    assert response.status_code == 200
    assert Post.objects.get(pk=post_id).body == "Edited by a moderator"


def test_an_edit_with_a_bad_body_changes_nothing(thread, bonnie):
    post_id = _reply(bonnie, thread).json()["id"]
    response = client_for(bonnie).patch(f"/api/v1/posts/{post_id}/", {"body": ""}, format="json")
    assert response.status_code == 400
    assert response.json()["fields"] == {"body": ["The post must be at least 1 character long."]}
    assert Post.objects.get(pk=post_id).edited_at is None


def test_soft_delete_leaves_a_tombstone_and_exact_counters(thread, bonnie, member):
    post_id = _reply(bonnie, thread).json()["id"]
    client_for(member).post(f"/api/v1/posts/{post_id}/like/")
    _reply(member, thread)
    thread.refresh_from_db()
    assert (thread.reply_count, thread.like_count) == (2, 1)

    assert client_for(member).delete(f"/api/v1/posts/{post_id}/").json()["code"] == "not_author"
    response = client_for(bonnie).delete(f"/api/v1/posts/{post_id}/")
    assert response.status_code == 200
    assert response.json()["status"] == "deleted"
    assert response.json()["body"] == ""
    assert response.json()["body_html"] == "<p><em>This post was deleted.</em></p>"
    thread.refresh_from_db()
    assert (thread.reply_count, thread.like_count) == (1, 0)
    assert not Like.objects.filter(post_id=post_id).exists()
    # Deleting again changes nothing; the tombstone keeps its place in the thread.
    assert client_for(bonnie).delete(f"/api/v1/posts/{post_id}/").status_code == 200
    ids = [
        p["id"] for p in APIClient().get(f"/api/v1/threads/{thread.pk}/posts/").json()["results"]
    ]
    assert post_id in ids
    assert len(ids) == 3


def test_likes_are_idempotent_and_exact(thread, bonnie, member):
    post_id = _reply(bonnie, thread).json()["id"]
    client = client_for(member)
    assert client.post(f"/api/v1/posts/{post_id}/like/").json() == {
        "like_count": 1,
        "liked_by_me": True,
    }
    assert client.post(f"/api/v1/posts/{post_id}/like/").json() == {
        "like_count": 1,
        "liked_by_me": True,
    }
    posts = client.get(f"/api/v1/threads/{thread.pk}/posts/").json()["results"]
    assert [(p["like_count"], p["liked_by_me"]) for p in posts] == [(0, False), (1, True)]
    assert client.delete(f"/api/v1/posts/{post_id}/like/").json() == {
        "like_count": 0,
        "liked_by_me": False,
    }
    assert client.delete(f"/api/v1/posts/{post_id}/like/").json() == {
        "like_count": 0,
        "liked_by_me": False,
    }
    thread.refresh_from_db()
    assert thread.like_count == 0


def test_you_cannot_like_your_own_post_or_a_missing_one(thread, bonnie):
    post_id = _reply(bonnie, thread).json()["id"]
    response = client_for(bonnie).post(f"/api/v1/posts/{post_id}/like/")
    assert response.status_code == 403
    assert response.json()["code"] == "own_post"
    assert client_for(bonnie).post("/api/v1/posts/999999/like/").status_code == 404
    assert APIClient().post(f"/api/v1/posts/{post_id}/like/").status_code == 401


def test_follow_and_unfollow(thread, bonnie):
    client = client_for(bonnie)
    assert client.post(f"/api/v1/threads/{thread.pk}/follow/").json() == {"following": True}
    assert client.post(f"/api/v1/threads/{thread.pk}/follow/").json() == {"following": True}
    assert Subscription.objects.filter(user=bonnie, thread=thread).count() == 1
    assert client.get(f"/api/v1/threads/{thread.pk}/").json()["following"] is True
    assert client.delete(f"/api/v1/threads/{thread.pk}/follow/").json() == {"following": False}
    assert client.get(f"/api/v1/threads/{thread.pk}/").json()["following"] is False


def test_posts_are_cursor_paginated_oldest_first(thread, bonnie):
    for n in range(24):
        _reply(bonnie, thread, f"Reply number {n}")
    first = APIClient().get(f"/api/v1/threads/{thread.pk}/posts/").json()
    assert set(first) == {"results", "next", "previous"}
    assert len(first["results"]) == 20
    second = APIClient().get(first["next"]).json()
    bodies = [p["body"] for p in first["results"] + second["results"]]
    assert bodies[1:] == [f"Reply number {n}" for n in range(24)]
    assert second["next"] is None


def test_unverified_and_suspended_members_cannot_post(thread, bonnie):
    bonnie.suspended_until = timezone.now() + timedelta(days=1)
    bonnie.save()
    response = _reply(bonnie, thread)
    assert response.status_code == 403
    assert response.json()["code"] == "suspended"


def test_posting_is_throttled_per_member(thread, bonnie, member, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "posting": "2/min",
        },
    }
    assert [_reply(bonnie, thread).status_code for _ in range(3)] == [201, 201, 429]
    assert _reply(bonnie, thread).json()["code"] == "throttled"
    # Another member has their own allowance, and reading is never throttled by it.
    assert _reply(member, thread).status_code == 201
    assert client_for(bonnie).get(f"/api/v1/threads/{thread.pk}/posts/").status_code == 200
