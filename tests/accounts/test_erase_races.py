"""Erasure racing the forum: one lock order, so no deadlock, and every counter exact."""

import pytest
from rest_framework.test import APIClient

from accounts.models import User
from accounts.privacy import member_erase
from forum.models import Like, Post, Thread
from forum.services import post_create, post_like
from tests.factories import UserFactory, make_thread
from tests.utils import client_for, race

ROUNDS = 15


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("delete_posts", [False, True])
def test_erasing_while_others_like_her_posts_and_she_likes_theirs(delete_posts):
    leaving = UserFactory(display_name="Leaving Soon")
    others = [UserFactory() for _ in range(3)]
    thread = make_thread(author=leaving)
    theirs = make_thread(author=others[0])
    hers = [post_create(author=leaving, thread=theirs, body=f"Mine {n}") for n in range(4)]
    their_posts = [post_create(author=o, thread=thread, body="Theirs") for o in others]
    for post in their_posts:
        post_like(user=leaving, post=post)

    def liker(member: User) -> None:
        client = client_for(member)
        for n in range(ROUNDS):
            post = hers[n % len(hers)]
            method = "post" if n % 3 else "delete"
            response = getattr(client, method)(f"/api/v1/posts/{post.pk}/like/")
            # 404: the post became a tombstone a moment ago.
            assert response.status_code in (200, 404), response.content

    def herself() -> None:
        client = client_for(leaving)
        for n in range(ROUNDS):
            post = their_posts[n % len(their_posts)]
            response = client.delete(f"/api/v1/posts/{post.pk}/like/")
            assert response.status_code in (200, 401, 403), response.content

    errors = race(
        [
            *(lambda m=m: liker(m) for m in others),
            herself,
            lambda: member_erase(user=leaving, delete_posts=delete_posts),
        ]
    )
    assert errors == []

    assert User.objects.get(pk=leaving.pk).erased_at is not None
    for post in Post.objects.all():
        assert post.like_count == Like.objects.filter(post=post).count(), post
    for t in Thread.objects.all():
        visible = Post.objects.filter(thread=t, status=Post.Status.VISIBLE)
        assert t.like_count == sum(p.like_count for p in visible)
    assert APIClient().get(f"/api/v1/threads/{theirs.pk}/posts/").status_code == 200
