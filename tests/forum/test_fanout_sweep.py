"""The fan-out sweep (``forum.fanout.fan_out_unfanned``) under failure and overlap: one
post that keeps failing holds up no other, a sweep ends within its time budget, and two
sweeps never work on the same post at once."""

import logging
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connections
from django.utils import timezone

from forum import fanout
from forum.models import Notification, Post
from forum.services import post_create
from tests.factories import UserFactory, make_thread

pytestmark = pytest.mark.django_db

LATER = timedelta(minutes=5)  # past the sweep's grace for every post below


def unfanned_replies(count: int) -> tuple[object, list[Post]]:
    asker = UserFactory()
    thread = make_thread(author=asker)
    posts = [
        post_create(author=UserFactory(), thread=thread, body=f"Reply {n}") for n in range(count)
    ]
    assert all(p.fanned_out_at is None for p in Post.objects.filter(pk__in=[p.pk for p in posts]))
    return asker, posts


def fanned_ids(posts: list[Post]) -> set[int]:
    rows = Post.objects.filter(pk__in=[p.pk for p in posts], fanned_out_at__isnull=False)
    return set(rows.values_list("pk", flat=True))


def test_a_post_whose_fan_out_keeps_failing_holds_up_no_other(monkeypatch, caplog):
    asker, posts = unfanned_replies(3)
    poisoned = posts[0]  # the oldest: the first every sweep takes
    real = fanout.fan_out

    def fan_out(*, post_id: int) -> int:
        if post_id == poisoned.pk:
            raise RuntimeError("a bad row")
        return real(post_id=post_id)

    monkeypatch.setattr(fanout, "fan_out", fan_out)
    now = timezone.now() + LATER
    with caplog.at_level(logging.ERROR, logger="forum.fanout"):
        assert fanout.fan_out_unfanned(now=now) == 2
        assert fanout.fan_out_unfanned(now=now) == 0  # tried again, still failing
    assert fanned_ids(posts) == {posts[1].pk, posts[2].pk}
    assert Notification.objects.filter(recipient=asker).count() == 2
    assert [r.message for r in caplog.records].count(
        f"fan-out sweep: post {poisoned.pk} failed; the next sweep retries"
    ) == 2
    monkeypatch.setattr(fanout, "fan_out", real)  # fixed: the next sweep fans it out
    assert fanout.fan_out_unfanned(now=now) == 1
    assert fanned_ids(posts) == {p.pk for p in posts}


def test_a_sweep_starts_no_post_once_its_budget_is_spent(monkeypatch):
    """Each fan-out here takes 20 s (a fake clock): a 45 s budget starts three posts (at 0,
    20 and 40 s), never a fourth; the next sweep carries on."""
    _asker, posts = unfanned_replies(5)
    clock = SimpleNamespace(now=0.0)
    monkeypatch.setattr(fanout, "time", SimpleNamespace(monotonic=lambda: clock.now))
    real = fanout.fan_out

    def slow_fan_out(*, post_id: int) -> int:
        clock.now += 20
        return real(post_id=post_id)

    monkeypatch.setattr(fanout, "fan_out", slow_fan_out)
    assert timedelta(minutes=1) > fanout.SWEEP_BUDGET  # below beat's interval
    now = timezone.now() + LATER
    assert fanout.fan_out_unfanned(now=now) == 3
    assert fanned_ids(posts) == {p.pk for p in posts[:3]}
    assert fanout.fan_out_unfanned(now=now) == 2
    assert fanned_ids(posts) == {p.pk for p in posts}


def test_a_post_another_sweep_is_fanning_out_is_left_to_it():
    """Another sweep (another connection) holds the first post: this one does the rest."""
    _asker, posts = unfanned_replies(3)
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_lock(%s, %s)",
                [fanout._SWEEP_LOCKS, fanout._int4(posts[0].pk)],
            )
        now = timezone.now() + LATER
        assert fanout.fan_out_unfanned(now=now) == 2
        assert fanned_ids(posts) == {posts[1].pk, posts[2].pk}
    finally:
        other.close()  # the other sweep's worker is gone: its lock with it
    assert fanout.fan_out_unfanned(now=now) == 1
    assert fanned_ids(posts) == {p.pk for p in posts}


def test_int4_keys_wrap_into_postgres_integer_range():
    for value in (1, 2**31 - 1, 2**31, 2**32 + 5, 2**63 - 1):
        assert -(2**31) <= fanout._int4(value) < 2**31
    assert fanout._int4(5) == 5


def test_a_batch_below_one_stops_the_job_instead_of_looping(settings):
    """Workers skip ``manage.py check`` (``forum.E002``): the job refuses the setting."""
    _asker, posts = unfanned_replies(1)
    settings.HAVEN_FANOUT_BATCH = 0
    with pytest.raises(ImproperlyConfigured, match="HAVEN_FANOUT_BATCH"):
        fanout.fan_out(post_id=posts[0].pk)
    assert fanned_ids(posts) == set()
