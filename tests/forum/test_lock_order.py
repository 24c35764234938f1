"""One lock order: likes, unlikes, edits, deletes and replies racing on one post never deadlock.

Every worker is a member with her own API client and her own database connection, in real
transactions: a deadlock would surface as a 500 (or the exception behind it), and the
counters afterwards are recounted from the rows.
"""

import random
import threading
from collections import Counter
from collections.abc import Callable

import pytest
from django.db.models import Sum
from rest_framework.test import APIClient

from accounts.roles import Role
from forum.models import Like, Post, Thread
from forum.services import post_create
from tests.factories import UserFactory, make_thread
from tests.utils import client_for, race

ROUNDS = 25
LIKERS = 4


@pytest.mark.django_db(transaction=True)
def test_likes_edits_deletes_and_replies_on_one_post_never_deadlock_and_counters_stay_exact():
    author = UserFactory(display_name="Sparrowhawk")
    moderator = UserFactory(display_name="Community Team 1", role=Role.MODERATOR)
    likers = [UserFactory() for _ in range(LIKERS)]
    replier = UserFactory(display_name="Bonnie52")
    thread = make_thread(author=author)
    target = post_create(author=author, thread=thread, body="The post everyone acts on")
    # Posts the author deletes one by one while they are being liked.
    doomed = [post_create(author=author, thread=thread, body=f"Doomed {n}") for n in range(8)]
    statuses: Counter[int] = Counter()
    lock = threading.Lock()

    def call(client: APIClient, method: str, url: str, data: dict | None = None) -> None:
        response = getattr(client, method)(url, data, format="json")
        with lock:
            statuses[response.status_code] += 1
        # 404: liking a post deleted a moment ago; 403: editing it (not_editable).
        assert response.status_code in (200, 201, 403, 404), (url, response.content)

    def liker(n: int) -> Callable[[], None]:
        def work() -> None:
            client = client_for(likers[n])
            chance = random.Random(n)  # a fixed mix of actions per liker
            for _ in range(ROUNDS):
                post = target if chance.random() < 0.6 else chance.choice(doomed)
                method = "post" if chance.random() < 0.6 else "delete"
                call(client, method, f"/api/v1/posts/{post.pk}/like/")

        return work

    def author_edits_and_deletes() -> None:
        client = client_for(author)
        for n in range(ROUNDS):
            call(client, "patch", f"/api/v1/posts/{target.pk}/", {"body": f"Edited {n}"})
            if n % 3 == 0 and n // 3 < len(doomed):
                call(client, "delete", f"/api/v1/posts/{doomed[n // 3].pk}/")

    def moderator_edits() -> None:
        client = client_for(moderator)
        for n in range(ROUNDS):
            post = target if n % 2 else doomed[-1]
            call(client, "patch", f"/api/v1/posts/{post.pk}/", {"body": f"Moderated {n}"})

    def replies() -> None:
        client = client_for(replier)
        for n in range(ROUNDS // 2):
            call(client, "post", f"/api/v1/threads/{thread.pk}/posts/", {"body": f"Reply {n}"})

    workers = [liker(n) for n in range(LIKERS)]
    workers += [author_edits_and_deletes, moderator_edits, replies]
    assert race(workers) == []
    assert 500 not in statuses
    assert statuses[200] > ROUNDS * LIKERS  # the mix really ran

    thread = Thread.objects.get(pk=thread.pk)
    posts = Post.objects.filter(thread=thread)
    for post in posts:
        assert post.like_count == Like.objects.filter(post=post).count(), post
    visible = posts.filter(status=Post.Status.VISIBLE)
    assert thread.like_count == visible.aggregate(n=Sum("like_count"))["n"]
    opening = posts.order_by("created_at", "id").first()
    assert thread.reply_count == visible.exclude(pk=opening.pk).exclude(kind="system").count()
    assert thread.reply_count == 1 + ROUNDS // 2  # the target and the replies: all doomed went
    assert not Like.objects.filter(post__status=Post.Status.DELETED).exists()
