"""Edge cases found in review: each was a 500, a stuck question, or a leak."""

import logging

import pytest
from django.utils import timezone

from accounts.roles import Role
from forum import search
from forum.models import Post, Thread
from forum.services import post_create, thread_close
from tests.factories import UserFactory, make_reply, make_thread
from tests.utils import client_for

pytestmark = pytest.mark.django_db


def test_held_or_hidden_posts_are_not_found_by_their_authors_but_moderators_act(member):
    thread = make_thread(author=UserFactory())
    post = post_create(author=member, thread=thread, body="Mine")
    Post.objects.filter(pk=post.pk).update(status="hidden")
    response = client_for(member).patch(
        f"/api/v1/posts/{post.pk}/", {"body": "Edit"}, format="json"
    )
    assert response.status_code == 404
    assert client_for(member).delete(f"/api/v1/posts/{post.pk}/").status_code == 404
    moderator = UserFactory(display_name="Community Team 1", role=Role.MODERATOR)
    response = client_for(moderator).patch(
        f"/api/v1/posts/{post.pk}/", {"body": "Edited"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["status"] == "hidden"


def test_notices_have_no_author():
    moderator = UserFactory(display_name="Community Team 1", role=Role.MODERATOR)
    thread = make_thread()
    thread_close(actor=moderator, thread=thread, reason="Closed for now")
    posts = client_for(moderator).get(f"/api/v1/threads/{thread.pk}/posts/").json()["results"]
    assert [(p["kind"], p["author"]) for p in posts][-1] == ("system", None)


def test_a_hidden_thread_disappears_from_notifications(member):
    thread = make_thread(author=member)
    make_reply(author=UserFactory(), thread=thread, body="Hello")
    assert len(client_for(member).get("/api/v1/notifications/").json()["results"]) == 1
    Thread.objects.filter(pk=thread.pk).update(visibility="hidden")
    assert client_for(member).get("/api/v1/notifications/").json()["results"] == []


def test_a_full_search_index_never_blocks_a_reply(member, monkeypatch, caplog):
    thread = make_thread(author=member)
    # Over a megabyte of distinct words: more than PostgreSQL's tsvector can hold.
    words = " ".join(f"w{n:07d}x" for n in range(120_000))
    monkeypatch.setattr(search, "POST_INDEX_CHARS", len(words))
    with caplog.at_level(logging.WARNING, logger="forum.search"):
        search.thread_index_append(thread_id=thread.pk, body=words)
    assert "search index full" in caplog.text
    reply = client_for(UserFactory()).post(
        f"/api/v1/threads/{thread.pk}/posts/", {"body": "Still replying"}, format="json"
    )
    assert reply.status_code == 201


def test_closing_with_a_long_notice_keeps_the_reason_short():
    moderator = UserFactory(display_name="Community Team 1", role=Role.MODERATOR)
    thread = make_thread()
    notice = "A long closing notice. " * 60
    thread_close(actor=moderator, thread=thread, reason="Answered", notice=notice)
    thread.refresh_from_db()
    assert thread.close_reason == "Answered"
    assert Post.objects.get(thread=thread, kind="system").body == notice.strip()
    assert thread.closed_at <= timezone.now()
