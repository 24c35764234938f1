"""Fan-out: telling a post's readers about it, in a job, never under the request's locks.

The post is its own outbox. A reply (a nurse answer, an approved held post) commits the
post and its thread's counters only, and leaves ``fanned_out_at`` empty; ``fan_out`` then
writes one notification per recipient in keyset-paginated chunks of
``HAVEN_FANOUT_BATCH``, each chunk one short transaction of one statement: ``INSERT ...
SELECT`` the next recipients after the last key, ``ON CONFLICT DO NOTHING`` on
``forum_notification_once``.
Last, in one transaction, it marks the post fanned out (a conditional ``UPDATE ... WHERE
fanned_out_at IS NULL``), appends the post's text to its thread's search vector, and sends
the email job on commit. So a job run twice, two jobs racing, or a job killed after some
chunks and run again write no notification twice and index the post once; and a job lost
with the broker is made good by the sweep (``fan_out_unfanned``), which finds the posts
still owed a fan-out.

Who hears of a post follows from the post and its thread alone (nothing else is stored):

- a reply: every follower of the thread (``REPLY``);
- a nurse answer: every follower and the asker, the asker at high priority
  (``NURSE_ANSWER``);
- the opening post of a nurse-answered category: every nurse, by email whatever her
  choice (``NEW_QUESTION``): a new question for the team;
- anything else (the opening post of another category, a system notice): nobody. Such
  posts are written already fanned out (``forum.services``) and never reach the job.

Always: never the post's author (the actor), never a closed account, nobody who muted the
author (except nurses hearing of a new question: triage is their work); emails follow each
member's "email on reply" choice unless the kind is staff work (new questions).

A post that nobody may see when its job runs (hidden or deleted meanwhile, or in a thread
hidden meanwhile) is marked fanned out and told to nobody: a notice would lead to a page
that is not there. A held post (``pending``) is skipped and left unfanned: its approval
(``forum.services.post_hold_approve``) sends its job.

Search: the thread's vector holds the text of visible posts once they are fanned out
(``forum.search.thread_reindex`` reads those only), so the job's append and a rebuild never
count a post twice, whichever comes first.
"""

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, connection, transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from accounts.models import Mute, User
from accounts.roles import Role
from core.jobs import enqueue_on_commit
from forum.models import Notification, Post, Subscription, Thread
from forum.search import thread_index_append
from forum.services import is_opening_post, notification_build

logger = logging.getLogger(__name__)

# The sweep leaves a post this long to its own job before it takes the post on.
SWEEP_GRACE = timedelta(minutes=1)
# Posts one sweep fans out at most; the next sweep, a minute on, carries on.
SWEEP_LIMIT = 200
# A sweep starts no post after this long: below beat's interval (a minute) and the tasks'
# soft time limit (60 s), so sweeps do not pile up behind a slow one.
SWEEP_BUDGET = timedelta(seconds=45)
# The advisory locks' first key: a post a sweep is fanning out (``_claimed``).
_SWEEP_LOCKS = 0x4676


@dataclass(frozen=True)
class _Source:
    """Recipients read in ``key`` order: ``rows`` gives (user id, wants email) by ``key``."""

    rows: QuerySet
    key: str
    email: str


@dataclass(frozen=True)
class Audience:
    """Who hears of a post, and how: derived from the post and its thread (``audience``)."""

    kind: Notification.Kind
    sources: tuple[_Source, ...]
    actor_id: int | None
    email_always: bool = False
    high_priority_for: frozenset[int] = field(default_factory=frozenset)


def _followers(thread_id: int) -> _Source:
    # Driven by forum_follow_once (thread, user): each chunk is one range of that index.
    return _Source(
        rows=Subscription.objects.filter(thread_id=thread_id, user__is_active=True),
        key="user_id",
        email="user__email_on_reply",
    )


def _users(users: QuerySet[User]) -> _Source:
    return _Source(rows=users.filter(is_active=True), key="pk", email="email_on_reply")


def audience(post: Post) -> Audience | None:
    """Who hears of ``post`` now (None: nobody). ``post.thread`` is loaded with its category."""
    thread = post.thread
    if post.status != Post.Status.VISIBLE or thread.visibility != Thread.Visibility.VISIBLE:
        return None
    actor_id = post.author_id
    if post.kind == Post.Kind.NURSE_ANSWER:
        asker = [thread.author_id] if thread.author_id else []
        return Audience(
            kind=Notification.Kind.NURSE_ANSWER,
            sources=(_followers(thread.pk), _users(User.objects.filter(pk__in=asker))),
            actor_id=actor_id,
            high_priority_for=frozenset(asker),
        )
    if post.kind != Post.Kind.POST:
        return None
    if not is_opening_post(post):
        return Audience(
            kind=Notification.Kind.REPLY, sources=(_followers(thread.pk),), actor_id=actor_id
        )
    if thread.category.nurse_answered:
        return Audience(
            kind=Notification.Kind.NEW_QUESTION,
            sources=(_users(User.objects.filter(role=Role.NURSE)),),
            actor_id=actor_id,
            email_always=True,
        )
    return None


def _recipients(source: _Source, *, to: Audience) -> QuerySet:
    """The source's recipients, minus the actor and (but for new questions) her muters.

    Who has the notice already is left to the insert (``ON CONFLICT DO NOTHING``): an
    anti-join on the post's notifications, which grow during the job faster than the
    planner's statistics, would turn each chunk into a scan of all the earlier ones.
    """
    rows = source.rows
    if to.actor_id is not None:
        rows = rows.exclude(**{source.key: to.actor_id})
        if to.kind != Notification.Kind.NEW_QUESTION:
            muted = Mute.objects.filter(user_id=OuterRef(source.key), muted_id=to.actor_id)
            rows = rows.exclude(Exists(muted))
    return rows.order_by(source.key).values_list(source.key, source.email)


# One chunk, one statement: read the next ``size`` recipients after the last key (a range of
# an index), insert their notifications, and say where the chunk ended and what was new.
_CHUNK_SQL = """
WITH chunk (recipient_id, wants_email) AS ({chunk}),
written AS (
    INSERT INTO forum_notification (
        recipient_id, kind, sequence, priority, thread_id, post_id, actor_id, note,
        created_at, email, email_attempts
    )
    SELECT
        recipient_id, %s, 0,
        CASE WHEN recipient_id = ANY(%s::bigint[]) THEN %s ELSE %s END,
        %s, %s, %s, '', %s,
        CASE WHEN wants_email OR %s THEN %s ELSE %s END,
        0
    FROM chunk
    ON CONFLICT DO NOTHING
    RETURNING 1
)
SELECT (SELECT max(recipient_id) FROM chunk), (SELECT count(*) FROM chunk),
       (SELECT count(*) FROM written)
"""


def _batch() -> int:
    """``HAVEN_FANOUT_BATCH``; workers skip the start-up checks (``forum.E002``), so a batch
    below one stops the job here rather than looping over empty chunks."""
    size = settings.HAVEN_FANOUT_BATCH
    if not isinstance(size, int) or size < 1:
        raise ImproperlyConfigured(f"HAVEN_FANOUT_BATCH ({size!r}) must be at least 1.")
    return size


def _write_chunks(source: _Source, *, post: Post, to: Audience, now: datetime) -> int:
    """Every recipient of ``source``, ``HAVEN_FANOUT_BATCH`` at a time, each chunk one
    statement in its own short transaction (PostgreSQL); returns the notifications written."""
    if connection.vendor != "postgresql":
        return _write_chunks_portable(source, post=post, to=to)
    size = _batch()
    rows = _recipients(source, to=to)
    after, created = 0, 0
    while True:
        chunk = rows.filter(**{f"{source.key}__gt": after})[:size]
        chunk_sql, chunk_params = chunk.query.sql_with_params()
        params = [
            *chunk_params,
            str(to.kind),
            sorted(to.high_priority_for),
            str(Notification.Priority.HIGH),
            str(Notification.Priority.NORMAL),
            post.thread_id,
            post.pk,
            to.actor_id,
            now,
            to.email_always,
            str(Notification.Email.PENDING),
            str(Notification.Email.NOT_WANTED),
        ]
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(_CHUNK_SQL.format(chunk=chunk_sql), params)
            last, read, written = cursor.fetchone()
        created += written
        if read < size:
            return created
        after = last


def _write_chunks_portable(source: _Source, *, post: Post, to: Audience) -> int:
    """The same with the ORM, for SQLite (the zero set-up demo): a read and an insert a chunk;
    counts what it tried (SQLite does not say what a conflict skipped)."""
    size = _batch()
    rows = _recipients(source, to=to)
    after, created = 0, 0
    while chunk := list(rows.filter(**{f"{source.key}__gt": after})[:size]):
        with transaction.atomic():
            Notification.objects.bulk_create(
                [
                    notification_build(
                        recipient_id=user_id,
                        wants_email=wants_email or to.email_always,
                        kind=to.kind,
                        post=post,
                        actor_id=to.actor_id,
                        high=user_id in to.high_priority_for,
                    )
                    for user_id, wants_email in chunk
                ],
                ignore_conflicts=True,
            )
        created += len(chunk)
        if len(chunk) < size:
            break
        after = chunk[-1][0]
    return created


@transaction.atomic
def _finish(post: Post, *, now: datetime, emails: bool) -> bool:
    """Mark the post fanned out, once, and index it: True for the job that did. With
    ``emails``, the email job leaves on commit (it sends what the chunks left pending).

    Thread first, then post (the lock order): the thread's row takes the appended text, and
    a writer changing this post (an edit, a hide) holds the thread while it does.
    """
    list(Thread.objects.select_for_update(no_key=True).filter(pk=post.thread_id).values("pk"))
    current = (
        Post.objects.select_for_update(no_key=True)
        .filter(pk=post.pk, fanned_out_at__isnull=True)
        .values("status", "body")
        .first()
    )
    if current is None:
        return False  # another job (or the sweep) got here first
    Post.objects.filter(pk=post.pk).update(fanned_out_at=now)
    if current["status"] == Post.Status.VISIBLE:
        thread_index_append(thread_id=post.thread_id, body=current["body"])
    if emails:
        from forum.tasks import deliver_notification_emails

        enqueue_on_commit(deliver_notification_emails, post_id=post.pk)
    return True


def fan_out(*, post_id: int) -> int:
    """Write the notifications ``post_id`` owes its readers, then mark it fanned out.

    Returns how many notifications this run wrote: 0 when the post is fanned out already,
    held, gone or told to nobody. Safe to run twice, or twice at once (see the module).
    """
    post = (
        Post.objects.select_related("thread__category")
        .defer("thread__search_vector")
        .filter(pk=post_id)
        .first()
    )
    if post is None or post.fanned_out_at is not None or post.status == Post.Status.PENDING:
        return 0
    now = timezone.now()
    to = audience(post)
    created = 0
    for source in to.sources if to is not None else ():
        created += _write_chunks(source, post=post, to=to, now=now)  # type: ignore[arg-type]
    _finish(post, now=now, emails=to is not None)
    return created


def posts_unfanned(*, now: datetime) -> QuerySet[Post]:
    """Posts still owed a fan-out whose own job had its time (``SWEEP_GRACE``), oldest first.

    Held posts wait for their approval. Hidden and deleted ones are taken too: their job
    marks them fanned out, telling nobody, so they leave the outbox's index.
    """
    return (
        Post.objects.filter(fanned_out_at__isnull=True, created_at__lt=now - SWEEP_GRACE)
        .exclude(status=Post.Status.PENDING)
        .order_by("created_at", "id")
    )


@contextmanager
def _claimed(post_id: int) -> Iterator[bool]:
    """Whether this sweep may fan ``post_id`` out now: True unless another sweep is doing so.

    A session advisory lock on the post (PostgreSQL), taken without waiting and held while
    the post is fanned out, across its chunks' own transactions; released when done, or
    with the connection of a worker that dies. The post's own job takes none (it is safe
    anyway): this only keeps overlapping sweeps from redoing each other's posts.
    """
    if connection.vendor != "postgresql":
        yield True
        return
    key = [_SWEEP_LOCKS, _int4(post_id)]
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", key)
        (mine,) = cursor.fetchone()
    try:
        yield bool(mine)
    finally:
        if mine:
            try:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(%s, %s)", key)
            except DatabaseError:  # the connection is gone, and the lock with it
                logger.warning("fan-out sweep: could not release post %d's lock", post_id)


def _int4(value: int) -> int:
    """``value`` as a signed 32-bit integer (an advisory lock's second key): wraps past 2³¹,
    where two posts sharing a key only means one waits for the next sweep."""
    return (value + 2**31) % 2**32 - 2**31


def fan_out_unfanned(
    *,
    now: datetime | None = None,
    limit: int = SWEEP_LIMIT,
    budget: timedelta = SWEEP_BUDGET,
) -> int:
    """The sweep: fan out what a lost job (a broker outage, a dead worker) left; returns how
    many posts it finished. Safe when two sweeps overlap, or meet a post's own job: each
    notification is written once and each post marked and indexed once, whoever is first;
    a post another sweep is working on is left to it (``_claimed``).

    One post whose fan-out fails (a bug, a bad row) is logged and left for the next sweep:
    the posts after it go on. No post is started once ``budget`` has passed, so a sweep
    ends before the next one is due (beat runs it every minute); the rest waits for it.
    """
    started = time.monotonic()
    done = failed = 0
    ids = list(posts_unfanned(now=now or timezone.now()).values_list("pk", flat=True)[:limit])
    for index, post_id in enumerate(ids):
        if time.monotonic() - started >= budget.total_seconds():
            logger.info("fan-out sweep: out of time, %d posts left to the next", len(ids) - index)
            break
        with _claimed(post_id) as mine:
            if not mine:
                continue
            try:
                fan_out(post_id=post_id)
            except SoftTimeLimitExceeded:
                raise
            except Exception:
                failed += 1
                logger.exception("fan-out sweep: post %d failed; the next sweep retries", post_id)
                continue
        done += 1
    if ids:
        logger.info("fan-out sweep: %d posts fanned out, %d failed", done, failed)
    return done
