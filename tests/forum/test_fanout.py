"""Fan-out off the request path: the post is its own outbox (``forum.fanout``).

A reply commits the post and its counters only; a job writes the followers' notifications
in chunks, idempotently, then marks the post fanned out and indexes it for search, once.
"""

import logging
import time
from collections import Counter
from datetime import timedelta
from functools import partial

import pytest
from django.core import mail
from django.db import connection, transaction
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Mute, User
from accounts.roles import Role
from forum.fanout import fan_out, fan_out_unfanned
from forum.models import Notification, Post, Subscription, Thread
from forum.search import threads_matching
from forum.services import (
    post_create,
    post_hide,
    post_hold_approve,
    thread_close,
    thread_follow,
)
from forum.tasks import fan_out_unfanned_posts
from moderation.answers import nurse_answer_create
from tests.factories import CategoryFactory, UserFactory, make_thread
from tests.servers import (
    RedisServer,
    SmtpSink,
    celery_worker_process,
    django_env,
    publishing_to,
    wait_for,
)
from tests.utils import client_for, closed_port, race

logger = logging.getLogger(__name__)

pytestmark = pytest.mark.django_db


def add_followers(thread: Thread, count: int, **fields) -> list[User]:
    start = User.objects.count()
    users = User.objects.bulk_create(
        User(email=f"f{start + i}@haven.test", display_name=f"Follower {start + i}", **fields)
        for i in range(count)
    )
    Subscription.objects.bulk_create(Subscription(user=u, thread=thread) for u in users)
    return users


def positions(thread: Thread, word: str) -> int:
    """How many times ``word`` stands in the thread's search vector (0: not indexed)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT coalesce(array_length(positions, 1), 0) FROM forum_thread, "
            "unnest(search_vector) WHERE id = %s AND lexeme = %s",
            [thread.pk, word],
        )
        row = cursor.fetchone()
    return row[0] if row else 0


def a_minute_on(thread: Thread) -> None:
    """As if two minutes had passed for the thread's posts (their order kept)."""
    Post.objects.filter(thread=thread).update(created_at=F("created_at") - timedelta(minutes=2))


def reply_queries(count: int, django_capture_on_commit_callbacks) -> tuple[int, int]:
    """Queries of one reply to a thread with ``count`` followers; and notifications written."""
    thread = make_thread(author=UserFactory())
    add_followers(thread, count - 1)  # and its author
    replier = UserFactory()
    with (
        django_capture_on_commit_callbacks() as callbacks,
        CaptureQueriesContext(connection) as queries,
    ):
        post = post_create(author=replier, thread=thread, body="Hello everyone")
    assert len(callbacks) == 1  # the fan-out job, sent after the commit
    assert Post.objects.get(pk=post.pk).fanned_out_at is None
    return len(queries), Notification.objects.filter(post=post).count()


def test_a_reply_writes_no_notification_and_its_queries_do_not_grow_with_followers(
    django_capture_on_commit_callbacks,
):
    one = reply_queries(1, django_capture_on_commit_callbacks)
    many = reply_queries(500, django_capture_on_commit_callbacks)
    assert one == many == (one[0], 0)
    assert one[0] <= 12, one


def test_the_reply_takes_the_threads_row_first_in_one_update_of_its_counters(
    django_capture_on_commit_callbacks,
):
    """The thread is locked before anything is written (the lock order: thread, then the
    rows the post's insert points at, the author's among them)."""
    thread, author = make_thread(author=UserFactory()), UserFactory()
    before = Thread.objects.get(pk=thread.pk)
    with CaptureQueriesContext(connection) as queries:
        post_create(author=author, thread=thread, body="Counted once")
    sql = [q["sql"] for q in queries.captured_queries]
    insert = next(i for i, q in enumerate(sql) if q.startswith('INSERT INTO "forum_post"'))
    touching = [i for i, q in enumerate(sql) if '"forum_thread"' in q.split(" WHERE ")[0]]
    [update] = touching  # no SELECT ... FOR UPDATE of the thread, one UPDATE
    assert sql[update].startswith('UPDATE "forum_thread"') and update < insert
    writes = [i for i, q in enumerate(sql) if q.startswith(("INSERT", "UPDATE", "DELETE"))]
    assert writes[0] == update, sql
    after = Thread.objects.get(pk=thread.pk)
    assert after.reply_count == before.reply_count + 1
    assert after.version == before.version + 1
    assert after.last_activity_at >= before.last_activity_at


def test_the_job_writes_every_followers_notification_once_and_indexes_the_reply_once(
    settings, django_capture_on_commit_callbacks
):
    settings.HAVEN_FANOUT_BATCH = 7
    asker = UserFactory()
    thread = make_thread(author=asker)
    followers = add_followers(thread, 40)
    with django_capture_on_commit_callbacks() as request_jobs:
        post = post_create(author=UserFactory(), thread=thread, body="Kelpies are lovely")
    assert Notification.objects.count() == 0 and positions(thread, "kelpi") == 0

    with django_capture_on_commit_callbacks(execute=True) as job_callbacks:
        assert fan_out(post_id=post.pk) == 41
    assert len(request_jobs) == 1 and len(job_callbacks) == 1  # the email job, once
    recipients = Counter(Notification.objects.values_list("recipient_id", flat=True))
    assert recipients == Counter([asker.pk, *(u.pk for u in followers)])
    assert Post.objects.get(pk=post.pk).fanned_out_at is not None
    assert positions(thread, "kelpi") == 1
    assert len(mail.outbox) == 41

    # Redelivered: nothing written, nothing indexed or emailed again.
    with django_capture_on_commit_callbacks(execute=True) as again:
        assert fan_out(post_id=post.pk) == 0
    assert again == []
    assert Notification.objects.count() == 41 and positions(thread, "kelpi") == 1


def test_queries_per_chunk_are_constant(settings):
    settings.HAVEN_FANOUT_BATCH = 10

    def job_queries(followers: int) -> int:
        thread = make_thread(author=UserFactory())
        add_followers(thread, followers - 1)
        post = post_create(author=UserFactory(), thread=thread, body="Counting queries")
        with CaptureQueriesContext(connection) as queries:
            assert fan_out(post_id=post.pk) == followers
        # Savepoints are this test's transaction's; a worker's chunk commits instead.
        return sum("SAVEPOINT" not in q["sql"] for q in queries.captured_queries)

    # 20 followers: 2 full chunks and an empty one; 50: 5 and an empty one; 55: 6, short.
    twenty, fifty, fifty_five = job_queries(20), job_queries(50), job_queries(55)
    assert fifty - twenty == 3, (twenty, fifty)  # a chunk: one INSERT ... SELECT
    assert fifty_five == fifty  # a sixth chunk, and no empty one after a short one
    assert twenty <= 10, twenty


@pytest.mark.django_db(transaction=True)
def test_two_jobs_racing_write_nothing_twice_and_index_once(settings):
    settings.HAVEN_FANOUT_BATCH = 50
    thread = make_thread(author=UserFactory())
    add_followers(thread, 600)
    with publishing_to(f"redis://127.0.0.1:{closed_port()}/0"):  # its own job is lost
        post = post_create(author=UserFactory(), thread=thread, body="Racing zebrafish")
    assert Notification.objects.count() == 0
    written: list[int] = []

    def job() -> None:
        written.append(fan_out(post_id=post.pk))

    assert race([job] * 4) == []
    assert Notification.objects.count() == 601  # one per follower: the constraint held
    assert sum(written) == 601  # and each job counted only the rows it wrote
    assert positions(thread, "zebrafish") == 1
    assert Post.objects.get(pk=post.pk).fanned_out_at is not None


# --- The rules notify_followers kept -----------------------------------------------------


def fanned(post: Post, django_capture_on_commit_callbacks) -> dict[str, Notification]:
    with django_capture_on_commit_callbacks(execute=True):
        fan_out(post_id=post.pk)
    return {
        n.recipient.display_name: n
        for n in Notification.objects.filter(post=post).select_related("recipient")
    }


def test_the_rules_are_kept_muted_inactive_the_actor_and_the_email_choice(
    django_capture_on_commit_callbacks,
):
    asker = UserFactory(display_name="Asker")
    replier = UserFactory(display_name="Replier")
    thread = make_thread(author=asker)
    muter = UserFactory(display_name="Muter")
    quiet = UserFactory(display_name="Quiet")
    gone = UserFactory(display_name="Gone")
    for user in (muter, quiet, gone):
        thread_follow(user=user, thread=thread)
    Mute.objects.create(user=muter, muted=replier)
    User.objects.filter(pk=quiet.pk).update(email_on_reply=False)
    User.objects.filter(pk=gone.pk).update(is_active=False)
    post = post_create(author=replier, thread=thread, body="News")

    rows = fanned(post, django_capture_on_commit_callbacks)
    assert set(rows) == {"Asker", "Quiet"}  # not the muter, the closed account, the replier
    assert rows["Asker"].email == "sent" and rows["Quiet"].email == "not_wanted"
    assert {(n.kind, n.priority, n.actor_id) for n in rows.values()} == {
        ("reply", "normal", replier.pk)
    }


def test_a_nurse_answer_tells_the_asker_at_high_priority_and_the_followers(
    django_capture_on_commit_callbacks,
):
    asker = UserFactory(display_name="Asker")
    follower = UserFactory(display_name="Follower")
    nurse = UserFactory(display_name="Nurse Jo", role=Role.NURSE)
    question = make_thread(author=asker, category=CategoryFactory(nurse_answered=True))
    thread_follow(user=follower, thread=question)
    Subscription.objects.filter(user=asker).delete()  # she unfollowed: still told, first
    with django_capture_on_commit_callbacks(execute=True):
        answer = nurse_answer_create(
            nurse=nurse, thread=question, body="Here is what we suggest.", signposts=[], close=True
        )
    rows = {
        n.recipient.display_name: n
        for n in Notification.objects.filter(post=answer).select_related("recipient")
    }
    assert {name: (n.kind, n.priority) for name, n in rows.items()} == {
        "Asker": ("nurse_answer", "high"),
        "Follower": ("nurse_answer", "normal"),
    }
    assert Post.objects.get(pk=answer.pk).fanned_out_at is not None
    # The closing notice the answer added tells nobody and is owed nothing.
    notice = Post.objects.get(thread=question, kind=Post.Kind.SYSTEM)
    assert notice.fanned_out_at is not None
    assert not Notification.objects.filter(post=notice).exists()


def test_a_new_question_tells_every_nurse_from_the_job(django_capture_on_commit_callbacks):
    nurses = [UserFactory(role=Role.NURSE) for _ in range(3)]
    User.objects.filter(pk=nurses[2].pk).update(email_on_reply=False)
    member = UserFactory()
    Mute.objects.create(user=nurses[1], muted=member)  # triage is their work: still told
    with django_capture_on_commit_callbacks() as callbacks:
        question = make_thread(author=member, category=CategoryFactory(nurse_answered=True))
    opening = Post.objects.get(thread=question)
    assert opening.fanned_out_at is None and not Notification.objects.exists()
    assert len(callbacks) == 1
    rows = fanned(opening, django_capture_on_commit_callbacks)
    assert {n.recipient_id for n in rows.values()} == {n.pk for n in nurses}
    assert {(n.kind, n.email) for n in rows.values()} == {("new_question", "sent")}


def test_posts_owed_nothing_are_written_fanned_out(django_capture_on_commit_callbacks):
    moderator = UserFactory(role=Role.MODERATOR)
    with django_capture_on_commit_callbacks() as callbacks:
        thread = make_thread(author=UserFactory())
        thread_close(actor=moderator, thread=thread, reason="Done")
    assert callbacks == []
    assert not Post.objects.filter(thread=thread, fanned_out_at__isnull=True).exists()


def test_a_held_reply_is_fanned_out_on_approval_and_the_sweep_leaves_it_until_then(
    django_capture_on_commit_callbacks,
):
    asker = UserFactory()
    thread = make_thread(author=asker)
    held_author = UserFactory()
    User.objects.filter(pk=held_author.pk).update(premoderated_indefinitely=True)
    held_author.refresh_from_db()
    with django_capture_on_commit_callbacks() as callbacks:
        held = post_create(author=held_author, thread=thread, body="Waiting quietly")
    assert held.status == Post.Status.PENDING and callbacks == []
    later = timezone.now() + timedelta(minutes=5)
    assert fan_out_unfanned(now=later) == 0
    assert fan_out(post_id=held.pk) == 0  # a stray job: it waits for its approval
    assert Post.objects.get(pk=held.pk).fanned_out_at is None
    assert positions(thread, "quiet") == 0

    with django_capture_on_commit_callbacks(execute=True):
        post_hold_approve(actor=UserFactory(role=Role.MODERATOR), post=held)
    kinds = dict(Notification.objects.filter(post=held).values_list("recipient_id", "kind"))
    assert kinds == {asker.pk: "reply", held_author.pk: "post_approved"}
    assert positions(thread, "quiet") == 1  # searchable once published, once


def test_a_post_hidden_before_its_job_tells_nobody(django_capture_on_commit_callbacks):
    thread = make_thread(author=UserFactory())
    post = post_create(author=UserFactory(), thread=thread, body="Buy my miracle cure")
    post_hide(actor=UserFactory(role=Role.MODERATOR), post=post, reason="spam")
    Notification.objects.all().delete()  # the author's notice of the hiding
    assert fanned(post, django_capture_on_commit_callbacks) == {}
    assert Post.objects.get(pk=post.pk).fanned_out_at is not None  # out of the outbox
    assert positions(thread, "miracl") == 0


def test_the_sweep_takes_posts_older_than_a_minute(django_capture_on_commit_callbacks):
    asker = UserFactory()
    thread = make_thread(author=asker)
    post = post_create(author=UserFactory(), thread=thread, body="Lost job")
    assert fan_out_unfanned() == 0  # too recent: its own job may still run
    a_minute_on(thread)
    with django_capture_on_commit_callbacks(execute=True):
        assert fan_out_unfanned_posts() == 1
    assert Notification.objects.get(post=post).recipient == asker
    assert len(mail.outbox) == 1
    assert fan_out_unfanned() == 0


def test_search_finds_the_reply_after_its_job(django_capture_on_commit_callbacks):
    thread = make_thread(author=UserFactory())
    with django_capture_on_commit_callbacks(execute=True):
        post_create(author=UserFactory(), thread=thread, body="A walk with the greyhound")
    assert list(threads_matching(Thread.objects.all(), "greyhound")) == [thread]
    assert positions(thread, "greyhound") == 1


@pytest.mark.django_db(transaction=True)
def test_replies_racing_a_close_never_come_after_its_notice():
    moderator = UserFactory(role=Role.MODERATOR)
    repliers = [UserFactory() for _ in range(6)]
    for attempt in range(4):
        thread = make_thread(author=UserFactory(), title=f"Racing the close {attempt}")
        refused: list[int] = []

        def reply(member: User, thread: Thread = thread, refused: list[int] = refused) -> None:
            response = client_for(member).post(
                f"/api/v1/threads/{thread.pk}/posts/", {"body": "Just in time?"}, format="json"
            )
            assert response.status_code in (201, 403), response.content
            if response.status_code == 403:
                assert response.json()["code"] == "thread_closed"
                refused.append(1)

        def close(thread: Thread = thread, pause: float = 0.005 * attempt) -> None:
            time.sleep(pause)
            thread_close(actor=moderator, thread=thread, reason="Closed now")

        assert race([partial(reply, m) for m in repliers] + [close]) == []
        order = list(Post.objects.filter(thread=thread).order_by("created_at", "id"))
        assert order[-1].kind == Post.Kind.SYSTEM  # the notice comes last
        replies = [p for p in order if p.kind == Post.Kind.POST][1:]
        assert len(replies) + len(refused) == len(repliers)  # refused ones left nothing
        assert Thread.objects.get(pk=thread.pk).reply_count == len(replies)


# --- Real workers ------------------------------------------------------------------------


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_broker_down_at_commit_loses_nothing_the_sweep_fans_out_and_emails_once(tmp_path):
    asker = UserFactory(email="asker@haven.test")
    thread = make_thread(author=asker)
    followers = add_followers(thread, 30)
    broker = RedisServer(tmp_path)  # not started yet: nothing listens on its port
    workers = []
    with SmtpSink() as sink:
        try:
            with publishing_to(broker.url):
                started = time.perf_counter()
                response = client_for(UserFactory()).post(
                    f"/api/v1/threads/{thread.pk}/posts/", {"body": "Broker down"}, format="json"
                )
                seconds = time.perf_counter() - started
                assert response.status_code == 201, response.content
                post = Post.objects.get(pk=response.json()["id"])
                assert post.fanned_out_at is None and not Notification.objects.exists()

                broker.start()
                env = django_env(redis_url=broker.url, email_url=sink.url)
                workers.append(celery_worker_process(env, tmp_path / "worker.log"))
                # The sweep, a minute on, through the broker back up.
                a_minute_on(thread)
                fan_out_unfanned_posts.delay()
                wait_for(lambda: sink.count() >= 31, 60, "every email")
                time.sleep(0.5)  # anything sent twice would have arrived by now
        finally:
            for worker in workers:
                worker.stop()
            broker.stop()
        copies = sink.copies()
    logger.warning("broker down: the reply took %.3f s", seconds)
    assert Counter(Notification.objects.values_list("recipient_id", flat=True)) == Counter(
        [asker.pk, *(u.pk for u in followers)]
    )
    assert set(Notification.objects.values_list("email", flat=True)) == {"sent"}
    expected = {
        f"<notification-{pk}@127.0.0.1>" for pk in Notification.objects.values_list("pk", flat=True)
    }
    assert copies == dict.fromkeys(expected, 1)
    assert Post.objects.get(pk=post.pk).fanned_out_at is not None


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_batch_then_the_job_rerun_completes_with_no_duplicates(tmp_path):
    """The worker is SIGKILLed while its job waits in the middle of the fan-out (blocked on a
    notification row another transaction is inserting): the chunks before it are committed,
    the rest not. The job, run again, writes the rest and no row twice."""
    batch, followers, blocker_at = 20, 300, 150
    thread = make_thread(author=UserFactory())
    users = sorted(add_followers(thread, followers), key=lambda u: u.pk)
    broker = RedisServer(tmp_path)
    broker.start()
    env = django_env(redis_url=broker.url, HAVEN_FANOUT_BATCH=str(batch))
    workers = []
    try:
        with publishing_to(broker.url):
            post = post_create(author=UserFactory(), thread=thread, body="Killed midway")
            # In user id order: the thread's author, then the followers.
            committed = (1 + blocker_at) // batch * batch
            with transaction.atomic():
                # Not committed: the job's insert of this row waits for this transaction.
                Notification.objects.create(
                    recipient=users[blocker_at], kind="reply", thread=thread, post=post
                )
                workers.append(celery_worker_process(env, tmp_path / "worker-0.log"))
                written = Notification.objects.filter(post=post)
                # Seen from here: the chunks the job committed, and the row it waits for.
                wait_for(lambda: written.count() >= committed + 1, 60, "the first chunks")
                time.sleep(0.5)
                assert written.count() == committed + 1  # blocked mid-batch
                workers[-1].kill()
                transaction.set_rollback(True)
            # The killed worker's chunk in flight is rolled back with its connection.
            time.sleep(0.5)
            assert Notification.objects.count() == committed
            assert Post.objects.get(pk=post.pk).fanned_out_at is None

            workers.append(celery_worker_process(env, tmp_path / "worker-1.log"))
            a_minute_on(thread)
            fan_out_unfanned_posts.delay()
            wait_for(
                lambda: Post.objects.get(pk=post.pk).fanned_out_at is not None, 60, "the rerun"
            )
    finally:
        for worker in workers:
            worker.stop()
        broker.stop()
    recipients = Counter(Notification.objects.filter(post=post).values_list("recipient", flat=True))
    assert recipients == Counter([thread.author_id, *(u.pk for u in users)])
    assert positions(thread, "midway") == 1


def test_ten_thousand_followers_constant_queries_per_chunk_and_the_time_it_takes(settings):
    """The issue's measurement: a 10,000-follower fan-out, its queries per chunk (pinned)
    and its wall time (logged, not asserted: a benchmark, not a timed test)."""
    settings.HAVEN_FANOUT_BATCH = 1000
    thread = make_thread(author=UserFactory())
    add_followers(thread, 9_999)
    post = post_create(author=UserFactory(), thread=thread, body="Ten thousand")
    started = time.perf_counter()
    with CaptureQueriesContext(connection) as queries:
        assert fan_out(post_id=post.pk) == 10_000
    seconds = time.perf_counter() - started
    sql = [q["sql"] for q in queries.captured_queries if "SAVEPOINT" not in q["sql"]]
    chunks = [q for q in queries.captured_queries if q["sql"].lstrip().startswith("WITH chunk")]
    logger.warning(
        "fan-out of 10,000 followers: %.2f s, %d queries: %d chunks of one statement "
        "(%.0f ms each on average), %d more",
        seconds,
        len(sql),
        len(chunks),
        1000 * sum(float(q["time"]) for q in chunks) / len(chunks),
        len(sql) - len(chunks),
    )
    assert len(chunks) == 11  # ten of 1,000, and a last empty one
    assert len(sql) - len(chunks) <= 6
