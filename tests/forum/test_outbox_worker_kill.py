"""A real Celery worker SIGKILLed in the middle of a fan-out: nothing lost, at most one double.

The worker is a subprocess (``celery -A config worker --pool solo``) on the test database,
with a Redis of the test's own as broker and a local SMTP sink that records every Message-ID.
"""

import logging
import time
from datetime import timedelta

import pytest
from django.db.models import F

from accounts.models import User
from forum.models import Notification, Post, Subscription
from forum.services import post_create
from forum.tasks import resend_pending_notification_emails
from tests.factories import UserFactory, make_thread
from tests.servers import (
    RedisServer,
    SmtpSink,
    celery_worker_process,
    django_env,
    publishing_to,
    wait_for,
)

logger = logging.getLogger(__name__)

FOLLOWERS = 1000
LEASE_SECONDS = 6  # longer than the test settings' time limit (3 s) and conversation (4 s)
KILL_AT = (250, 600)  # messages received by the sink when each worker is killed


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_batch_loses_nothing_and_doubles_at_most_one_per_kill(tmp_path):
    started = time.monotonic()
    broker = RedisServer(tmp_path)
    broker.start()
    workers = []
    with SmtpSink(delay=0.002) as sink:
        env = django_env(
            redis_url=broker.url,
            email_url=sink.url,
            HAVEN_EMAIL_LEASE_SECONDS=str(LEASE_SECONDS),
        )

        def start_worker() -> None:
            workers.append(celery_worker_process(env, tmp_path / f"worker-{len(workers)}.log"))

        try:
            thread = make_thread(author=UserFactory())
            followers = User.objects.bulk_create(
                User(email=f"follower{i}@haven.test", display_name=f"Follower {i}")
                for i in range(FOLLOWERS)
            )
            Subscription.objects.bulk_create(Subscription(user=u, thread=thread) for u in followers)
            with publishing_to(broker.url):
                # The reply's fan-out job leaves for the broker after the commit; the worker
                # writes the notifications, then its email job sends them.
                post = post_create(author=UserFactory(), thread=thread, body="To every follower")
                assert not Notification.objects.exists()

                start_worker()
                fanned = Post.objects.filter(pk=post.pk, fanned_out_at__isnull=False)
                wait_for(fanned.exists, 60, "the fan-out")
                owed = Notification.objects.filter(post=post).count()
                assert owed == FOLLOWERS + 1
                wait_for(lambda: sink.count() >= KILL_AT[0], 60, "first emails")
                workers[-1].kill()
                # Its job is lost with it (acknowledged late, handed back by Redis only after
                # the visibility timeout): the periodic sweep delivers, two minutes later.
                Notification.objects.update(created_at=F("created_at") - timedelta(minutes=3))
                start_worker()
                resend_pending_notification_emails.delay()
                wait_for(lambda: sink.count() >= KILL_AT[1], 60, "the sweep's emails")
                workers[-1].kill()
                kills = len(workers)
                left_sending = Notification.objects.filter(email="sending").count()

                start_worker()
                # What the killed workers held stays theirs until their leases expire.
                time.sleep(LEASE_SECONDS + 0.5)
                resend_pending_notification_emails.delay()
                unsent = Notification.objects.filter(email__in=["pending", "sending"])
                wait_for(lambda: not unsent.exists(), 60, "every email sent")
        finally:
            for worker in workers:
                worker.stop()
            broker.stop()

        copies = sink.copies()
    seconds = time.monotonic() - started

    expected = {
        f"<notification-{pk}@127.0.0.1>" for pk in Notification.objects.values_list("pk", flat=True)
    }
    duplicates = sum(n - 1 for n in copies.values())
    logger.warning(
        "worker kill: %d emails owed, %d received, %d distinct, %d duplicates, %d kills, "
        "%d left sending at the second kill, %.1f s",
        owed,
        sum(copies.values()),
        len(copies),
        duplicates,
        kills,
        left_sending,
        seconds,
    )
    assert set(copies) == expected  # 0 lost
    assert duplicates <= kills
    assert Notification.objects.filter(email="sent").count() == owed
    assert not Notification.objects.exclude(email="sent").exists()
