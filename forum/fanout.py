"""Fan-out: telling a post's readers about it, in a job, never under the request's locks.

The post is its own outbox. A reply (a nurse answer, an approved held post) commits the
post and its thread's counters only, and leaves ``fanned_out_at`` empty; ``fan_out`` then
writes one notification per recipient in keyset-paginated chunks of
``HAVEN_FANOUT_BATCH``, each chunk one short transaction of a constant number of queries
(read the chunk, insert it with ``ON CONFLICT DO NOTHING`` on ``forum_notification_once``).
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
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
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


def _unwritten(source: _Source, *, post: Post, to: Audience) -> QuerySet:
    """The source's recipients still owed this notice, minus the actor and her muters."""
    rows = source.rows
    if to.actor_id is not None:
        rows = rows.exclude(**{source.key: to.actor_id})
        if to.kind != Notification.Kind.NEW_QUESTION:
            muted = Mute.objects.filter(user_id=OuterRef(source.key), muted_id=to.actor_id)
            rows = rows.exclude(Exists(muted))
    written = Notification.objects.filter(
        recipient_id=OuterRef(source.key), kind=to.kind, post_id=post.pk, sequence=0
    )
    return rows.exclude(Exists(written))


def _chunks(source: _Source, *, post: Post, to: Audience) -> Iterator[list[tuple[int, bool]]]:
    """The recipients, ``HAVEN_FANOUT_BATCH`` at a time, each chunk one keyset query."""
    size = settings.HAVEN_FANOUT_BATCH
    rows = _unwritten(source, post=post, to=to).order_by(source.key)
    rows = rows.values_list(source.key, source.email)
    after = 0
    while chunk := list(rows.filter(**{f"{source.key}__gt": after})[:size]):
        yield chunk
        if len(chunk) < size:
            return
        after = chunk[-1][0]


def _write(chunk: list[tuple[int, bool]], *, post: Post, to: Audience) -> int:
    """One chunk in one short transaction: one insert, idempotent on forum_notification_once."""
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
    return len(chunk)


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
    created = 0
    to = audience(post)
    if to is not None:
        for source in to.sources:
            for chunk in _chunks(source, post=post, to=to):
                created += _write(chunk, post=post, to=to)
    _finish(post, now=timezone.now(), emails=to is not None)
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


def fan_out_unfanned(*, now: datetime | None = None, limit: int = SWEEP_LIMIT) -> int:
    """The sweep: fan out what a lost job (a broker outage, a dead worker) left; returns how
    many posts it finished. Safe when two sweeps overlap, or meet a post's own job: each
    notification is written once and each post marked and indexed once, whoever is first.
    """
    done = 0
    ids = list(posts_unfanned(now=now or timezone.now()).values_list("pk", flat=True)[:limit])
    for post_id in ids:
        fan_out(post_id=post_id)
        done += 1
    if ids:
        logger.info("fan-out sweep: %d posts fanned out", done)
    return done
