"""Twenty members liking and replying at the same moment leave exact counters."""

from functools import partial

import pytest
from django.db.models import F

from forum.models import Like, Notification, Post, Thread
from forum.services import post_create, post_like, post_unlike
from tests.factories import UserFactory, make_thread
from tests.utils import race

WORKERS = 20


@pytest.mark.django_db(transaction=True)
def test_concurrent_likes_and_replies_keep_exact_counters():
    author = UserFactory(display_name="Sparrowhawk")
    members = [UserFactory() for _ in range(WORKERS)]
    thread = make_thread(author=author)
    opening = Post.objects.get(thread=thread)

    def like_twice_and_reply(n: int) -> None:
        member = members[n]
        post_like(user=member, post=opening)
        post_like(user=member, post=opening)  # the double tap
        post_create(author=member, thread=thread, body=f"Reply {n}")

    assert race([partial(like_twice_and_reply, n) for n in range(WORKERS)]) == []

    opening.refresh_from_db()
    thread.refresh_from_db()
    assert opening.like_count == Like.objects.filter(post=opening).count() == WORKERS
    assert thread.like_count == WORKERS
    assert thread.reply_count == Post.objects.filter(thread=thread).count() - 1 == WORKERS
    # Every reply notified the asker once; nobody was notified of their own reply.
    assert Notification.objects.filter(recipient=author).count() == WORKERS
    assert not Notification.objects.filter(recipient=F("actor")).exists()

    def unlike(n: int) -> None:
        post_unlike(user=members[n], post=opening)

    assert race([partial(unlike, n) for n in range(WORKERS)]) == []
    opening.refresh_from_db()
    thread.refresh_from_db()
    assert (opening.like_count, thread.like_count) == (0, 0)
    assert Thread.objects.get(pk=thread.pk).reply_count == WORKERS
