"""The benchmark's COPY seeder keeps its promises at a tiny size; the like row's pairs are fresh.

bench/seed.py fills a forum of a million posts in minutes; these run it at 200 posts, in
the test database's transaction (no VACUUM), and check the shape the benchmark rows rely
on: the long thread, the fan thread and its 1-follower twin, counters as the services keep
them, search vectors, every post already fanned out, every index and foreign key back.
"""

from typing import Any

import pytest
from django.db import connection
from django.db.models import Count, F, Q

from bench.run import Endpoint
from bench.seed import RARE_AT_LEAST, SEED_VERSION, shape_for
from forum.models import Like, Post, Subscription, Thread
from tests.utils import thread_counts

pytestmark = pytest.mark.django_db


def _indexes_and_keys() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename IN "
            "('forum_thread', 'forum_post', 'forum_like', 'forum_subscription') "
            "UNION SELECT conname FROM pg_constraint WHERE conrelid::regclass::text IN "
            "('forum_thread', 'forum_post', 'forum_like', 'forum_subscription')"
        )
        return {row[0] for row in cursor.fetchall()}


@pytest.fixture
def seeded() -> dict[str, Any]:
    from bench.seed import seed

    before = _indexes_and_keys()
    meta = seed(posts=200, seed_value=7, followers=20, vacuum=False)
    meta["indexes_before"] = before
    return meta


def test_shape_at_a_million_posts() -> None:
    shape = shape_for(1_000_000)
    assert (shape.long_thread, shape.fan_followers) == (5_000, 10_000)
    assert shape.members > shape.fan_followers
    assert shape.likers * 999_000 > 100_000  # fresh likes for any run


def test_tiny_forum_has_the_promised_shape(seeded: dict[str, Any]) -> None:
    assert Post.objects.count() == seeded["posts"] == 200
    assert Thread.objects.count() == seeded["threads"] >= 10
    assert Thread.objects.get(pk=seeded["big_thread"]).posts.count() == 40
    # The fan thread: its 20 followers and the replier; its twin: its author and the replier.
    fan = Subscription.objects.filter(thread_id=seeded["fan_thread"])
    quiet = Subscription.objects.filter(thread_id=seeded["quiet_thread"])
    assert fan.count() == 21 and quiet.count() == 2
    replier = seeded["member_email"]
    assert fan.filter(user__email=replier).exists() and quiet.filter(user__email=replier).exists()
    assert Post.objects.filter(thread_id=seeded["fan_thread"]).count() == 10
    assert Post.objects.filter(thread_id=seeded["quiet_thread"]).count() == 10
    # The reply rows' threads are open.
    assert not Thread.objects.filter(pk__in=seeded["reply_threads"], status="closed").exists()
    # The rare word names a page of threads at any size (or all of a forum smaller than one).
    rare = Thread.objects.filter(title__contains=f"({seeded['rare_word']})").count()
    assert rare >= min(RARE_AT_LEAST, seeded["threads"])
    assert seeded["seed_version"] == SEED_VERSION


def test_counters_follows_vectors_and_outbox_as_the_services_keep_them(
    seeded: dict[str, Any],
) -> None:
    threads = Thread.objects.annotate(
        visible=Count("posts", filter=Q(posts__status="visible")),
    )
    for thread in threads:
        assert thread.reply_count == thread.visible - 1
    assert Post.objects.filter(fanned_out_at__isnull=True).count() == 0
    # Every poster follows the thread.
    unfollowed = Post.objects.exclude(author__subscriptions__thread=F("thread")).count()
    assert unfollowed == 0
    assert not Thread.objects.filter(search_vector__isnull=True).exists()
    assert Thread.objects.filter(search_vector="tamoxifen").exists()
    # The categories' counts of visible threads, as the services keep them (the lists' count).
    kept, real = thread_counts()
    assert kept == real and sum(kept.values()) == seeded["threads"]
    # Likers never liked anything: their (member, post) pairs are all fresh.
    assert not Like.objects.filter(user__email__startswith="liker").exists()
    assert not Like.objects.filter(user_id=F("post__author_id")).exists()
    # Indexes and foreign keys dropped for the load are all back; new rows take fresh ids.
    assert _indexes_and_keys() == seeded["indexes_before"]
    thread = Thread.objects.get(pk=seeded["big_thread"])
    post = Post.objects.create(thread=thread, body="after", body_html="<p>after</p>")
    assert post.pk > max(Post.objects.exclude(pk=post.pk).values_list("pk", flat=True))


def test_like_pairs_are_fresh_across_samples() -> None:
    row = Endpoint(
        "like", "like", "POST", "/", like_posts=list(range(100, 150)), tokens=["a", "b", "c"]
    )
    seen = {row.target(k) for k in range(60)}
    row.offset += 60
    seen |= {row.target(k) for k in range(60)}
    assert len(seen) == 120
    assert row.pairs_left == 150 - 60
