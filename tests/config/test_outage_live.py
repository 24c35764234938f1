"""Redis and PostgreSQL going away under a real server: gunicorn, a Celery worker, an SMTP sink.

Redis (cache, sessions' cache, throttles, rate limits and broker, as the README's default
deployment has it) is the test's own, on a free port, and the test stops it.
"""

import logging
import time
from datetime import timedelta

import pytest
from django.db.models import F

from accounts.roles import Role
from forum.models import Notification, Post
from forum.services import thread_follow
from forum.tasks import fan_out_unfanned_posts
from moderation import demo
from tests.factories import PASSWORD, CategoryFactory, UserFactory, make_thread
from tests.servers import (
    RedisServer,
    SmtpSink,
    celery_worker_process,
    django_env,
    gunicorn_process,
    http,
    publishing_to,
    wait_for,
)
from tests.utils import closed_port

logger = logging.getLogger(__name__)

LOGIN = "/_allauth/app/v1/auth/login"


def sign_in(base: str, email: str) -> str:
    reply = http("POST", base + LOGIN, {"email": email, "password": PASSWORD})
    assert reply.status == 200, reply.body
    return str(reply.body["meta"]["session_token"])


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_redis_outage_degrades_and_every_email_goes_once_after_it(tmp_path):
    demo.install()
    nurses_category = CategoryFactory(
        slug="ask-our-nurses", name="Ask Our Nurses", nurse_answered=True
    )
    member = UserFactory(display_name="Sparrowhawk", email="sparrow@haven.test")
    nurse = UserFactory(display_name="Helen Smith", email="helen@haven.test", role=Role.NURSE)
    question = make_thread(author=member, category=nurses_category, title="Scar tissue, surgery")
    chat = make_thread(author=UserFactory(), title="Walking group on Thursdays")
    followers = [UserFactory() for _ in range(5)]
    for follower in followers:
        thread_follow(user=follower, thread=question)
        thread_follow(user=follower, thread=chat)
    Notification.objects.all().delete()  # the nurses' new-question notices: not this test's

    redis = RedisServer(tmp_path)
    redis.start()
    processes = []
    seen: dict[str, tuple[int, float]] = {}
    with SmtpSink() as sink:
        env = django_env(redis_url=redis.url, email_url=sink.url)
        try:
            server, base = gunicorn_process(env, tmp_path / "gunicorn.log")
            processes.append(server)
            processes.append(celery_worker_process(env, tmp_path / "worker.log"))
            member_token = sign_in(base, member.email)
            nurse_token = sign_in(base, nurse.email)
            assert http("GET", base + "/health/").body["status"] == "ok"

            redis.stop()

            reads = {
                "anonymous read": http("GET", f"{base}/api/v1/threads/"),
                "signed-in read": http("GET", f"{base}/api/v1/me/", token=member_token),
                "posts page": http(
                    "GET", f"{base}/api/v1/threads/{chat.pk}/posts/", token=member_token
                ),
            }
            writes = {
                "reply": http(
                    "POST",
                    f"{base}/api/v1/threads/{chat.pk}/posts/",
                    {"body": "See you there on Thursday."},
                    token=member_token,
                ),
                "nurse answer": http(
                    "POST",
                    f"{base}/api/v1/threads/{question.pk}/nurse-answer/",
                    {"body": "Scar tissue often softens with massage.", "signposts": []},
                    token=nurse_token,
                ),
                "sign-up": http(
                    "POST",
                    f"{base}/_allauth/app/v1/auth/signup",
                    {
                        "email": "newcomer@haven.test",
                        "password": "bright-morning-walk-42",
                        "display_name": "Newcomer",
                    },
                ),
            }
            health = http("GET", f"{base}/health/")
            strict = http("GET", f"{base}/health/?strict=1")
            seen = {name: (r.status, r.seconds) for name, r in {**reads, **writes}.items()}
            seen |= {"health": (health.status, health.seconds), "strict": (strict.status, 0)}
            logger.warning("during the Redis outage: %s", seen)

            assert {name: r.status for name, r in reads.items()} == dict.fromkeys(reads, 200)
            assert reads["signed-in read"].body["display_name"] == "Sparrowhawk"
            assert writes["reply"].status == 201, writes["reply"].body
            assert writes["nurse answer"].status == 201, writes["nurse answer"].body
            # Mandatory verification: pending, and the link went out in-process at once.
            assert writes["sign-up"].status == 401, writes["sign-up"].body
            assert all(r.seconds < 1 for r in [*reads.values(), *writes.values()]), seen
            # The verification email only: notifications wait for Redis.
            [verification] = sink.messages
            assert b"To: newcomer@haven.test" in verification
            assert b"/account/confirm-email/" in verification
            assert health.status == 200
            assert health.body["status"] == "degraded"
            assert health.body["failing"] == ["cache", "broker"]
            assert strict.status == 503

            # The reply and the answer are their own outbox: nobody told yet, nothing lost.
            unfanned = Post.objects.filter(fanned_out_at__isnull=True)
            assert unfanned.count() == 2

            redis.start()
            # Their jobs never reached the broker: the periodic sweeps, a minute on, fan them
            # out, then send what their email jobs were to send.
            Post.objects.update(created_at=F("created_at") - timedelta(minutes=3))
            with publishing_to(redis.url):
                fan_out_unfanned_posts.delay()
                wait_for(lambda: not unfanned.exists(), 60, "the fan-out sweep")
            # Every email owed, read at once: the email jobs are already claiming and sending
            # them (pending, sending, sent), and a row read twice could move between reads.
            wanted = Notification.objects.exclude(email=Notification.Email.NOT_WANTED)
            owed = set(wanted.values_list("pk", flat=True))
            assert len(owed) >= 10  # the reply's and the answer's followers and asker
            unsent = Notification.objects.filter(email__in=["pending", "sending"])
            wait_for(lambda: not unsent.exists(), 60, "the emails after Redis returned")
            time.sleep(0.5)  # anything sent twice would have arrived by now
            # The web worker tries Redis again a few seconds after its last failed connect.
            wait_for(lambda: http("GET", f"{base}/health/").body["status"] == "ok", 15, "ok")
        finally:
            for process in processes:
                process.stop()
            redis.stop()
        copies = sink.copies()

    expected = {f"<notification-{pk}@127.0.0.1>" for pk in owed}
    notification_copies = {mid: n for mid, n in copies.items() if mid.startswith("<notification-")}
    assert notification_copies == dict.fromkeys(expected, 1)  # each delivered exactly once


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_an_unreachable_database_answers_503_with_retry_after(tmp_path):
    redis = RedisServer(tmp_path)
    redis.start()
    env = django_env(
        redis_url=redis.url,
        DATABASE_URL=f"postgres://haven:haven@127.0.0.1:{closed_port()}/haven",
    )
    try:
        server, base = gunicorn_process(env, tmp_path / "gunicorn.log")
        try:
            read = http("GET", f"{base}/api/v1/threads/")
            health = http("GET", f"{base}/health/")
            page = http("GET", f"{base}/admin/")
        finally:
            server.stop()
    finally:
        redis.stop()
    logger.warning(
        "database down: read %s %.3f s, health %s, page %s",
        read.status,
        read.seconds,
        health.status,
        page.status,
    )
    assert (read.status, read.headers["Retry-After"]) == (503, "30")
    assert read.body["code"] == "service_unavailable"
    assert (health.status, health.headers["Retry-After"]) == (503, "30")
    assert health.body["failing"] == ["database"]
    assert page.status in {302, 503}  # the admin redirects anonymous visitors to sign in
