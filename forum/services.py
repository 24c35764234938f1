"""Every write to the forum goes through here.

Each service checks (who may, is the input valid, what state is it in, with the rows it
changes locked), then writes, then schedules side effects on commit. Counters move with
``F()`` under a row lock, or are recounted; they never drift.

Lock order, everywhere (here and in every app that builds on these services): the thread
first, then the post, then user rows. A service that changes a post or its counters locks
its thread with ``thread_lock_visible`` before ``post_lock``, even when it only updates the
thread afterwards, so two writers never hold one row each while waiting for the other's.
Both are ``FOR NO KEY UPDATE`` locks: they serialise the writers of a thread, while inserts
that merely point at the row (a like, a notification, a follow) are not held up by them.

Every write that changes what a thread's pages show anyone (its posts, its row in a list,
its detail) moves the thread's ``version`` on in the same transaction (``thread_changed``,
or ``version + 1`` folded into an UPDATE of the thread row the write makes anyway): cached
pages are keyed by it, so they go stale by construction, never by a timer. Follows and
mutes change only per-viewer bits, which no cached page holds: they move nothing.

A member's reply (``post_create``) takes its thread first too, in the one conditional
``UPDATE`` of its counters, and only then inserts its post. The insert's foreign keys take
a key-share lock on the author's user row (at the commit, Django's keys being deferred; at
once, were one not): a reply that inserted first and locked the thread last could hold her
row while a rename or an erasure of hers (threads, then her row) held the thread and waited
for the row, a deadlock. The thread is held for the insert and the commit only (the text is
rendered before). Notifying followers and indexing the reply for search happen after the
commit, in a job (``forum.fanout``): a reply costs the same with one follower or ten
thousand.

Category rows are locked by their own writes only (``category_ensure``, the admin; the
count logs' fold, ``thread_counts_fold``, which holds nothing else): the thread lists'
counts are logged by a trigger that only inserts, so no write to a thread waits for a
category (see "Thread counts" below).
"""

from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from itertools import islice
from typing import Any, TypeVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Count, F, Q, QuerySet, Sum
from django.db.models.functions import Coalesce, Greatest
from django.http import Http404
from django.utils import timezone

from accounts.identity import voice_of
from accounts.models import User
from accounts.permissions import check_can_write
from accounts.roles import Role
from core.audit import audit_record, clean_reason
from core.errors import Conflict, Forbidden
from core.jobs import enqueue_on_commit
from forum import policy, selectors
from forum.models import (
    Category,
    Like,
    Notification,
    Post,
    PostRevision,
    Subscription,
    Thread,
    ThreadCountChange,
)
from forum.policy import Screening
from forum.rendering import render_markdown
from forum.search import thread_reindex

TITLE_MIN, TITLE_MAX = 5, 200
BODY_MIN, BODY_MAX = 1, 20_000
TOMBSTONE_HTML = "<p><em>This post was deleted.</em></p>"
# The signposting a post's author sees when its text raised a safeguarding concern.
SUPPORT_CRISIS = "crisis"

T = TypeVar("T")


# --- Versions ----------------------------------------------------------------------------------


def thread_changed(thread_id: int) -> None:
    """The thread's pages changed: its ``version`` moves on (one UPDATE, in the caller's
    transaction, after the caller locked the thread)."""
    Thread.objects.filter(pk=thread_id).update(version=F("version") + 1)


def threads_changed(threads: QuerySet[Thread]) -> int:
    """Every thread of ``threads`` changed, in one UPDATE: the rows are locked in id order
    (as every writer of several threads takes them), so two such writers never deadlock."""
    locked = threads.order_by("pk").select_for_update(no_key=True).values("pk")
    return Thread.objects.filter(pk__in=locked).update(version=F("version") + 1)


def member_threads(user_id: int) -> QuerySet[Thread]:
    """Every thread that shows a member's name: she started it or wrote in it as herself.
    Content written under a staff title shows the title, never her."""
    wrote = Post.objects.filter(author_id=user_id, author_role=Role.MEMBER).values("thread_id")
    return Thread.objects.filter(Q(author_id=user_id, author_role=Role.MEMBER) | Q(pk__in=wrote))


def member_threads_changed(user_id: int) -> int:
    """A member's name shows differently (renamed, erased, deactivated): every thread of
    ``member_threads`` changed. Registered with ``accounts.services``."""
    return threads_changed(member_threads(user_id))


def category_threads_changed(category_id: int) -> int:
    """A category's name or slug shows on every one of its threads' pages and rows."""
    return threads_changed(Thread.objects.filter(category_id=category_id))


# --- Thread counts -----------------------------------------------------------------------------
#
# The thread lists' ``count`` is each category's kept count (``Category.visible_thread_count``)
# plus the changes logged since it was last folded (``ThreadCountChange``, summed with it in one
# statement: ``selectors.visible_thread_count``). A trigger on the threads table (migration
# 0013) logs a change for every row that enters or leaves a category's visible threads,
# whoever writes it (a service, the admin, an erasure, a cascade, SQL by hand), in the
# writer's transaction. Logging only inserts: no writer locks a category row or waits for
# another writer, so counting adds nothing to any lock order. Replies, likes and edits never
# log anything. PostgreSQL only: on SQLite (the demo) the lists count their rows.


# The advisory lock a fold holds for its transaction (``thread_counts_fold``).
_FOLD_LOCK = 0x46_6F_6C_64


def thread_counts_fold() -> int:
    """Fold the logged changes into the categories' kept counts, in one statement that deletes
    the changes it adds (a periodic job: the log stays short). Returns how many it folded.

    The sum a reader makes is the same before and after (one statement: both at once). One
    fold runs at a time (a transaction advisory lock; another returns 0 at once). A fold
    locks category rows only, and no writer of threads waits for them."""
    if not selectors.thread_counts_kept():
        return 0
    changes, categories = ThreadCountChange._meta.db_table, Category._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [_FOLD_LOCK])
        if not cursor.fetchone()[0]:
            return 0
        cursor.execute(
            f"""
            WITH gone AS (DELETE FROM "{changes}" RETURNING category_id, delta),
            moved AS (SELECT category_id, SUM(delta) AS n, COUNT(*) AS rows FROM gone
                      GROUP BY category_id),
            kept AS (UPDATE "{categories}" AS c SET visible_thread_count =
                        c.visible_thread_count + moved.n
                     FROM moved WHERE c.id = moved.category_id AND moved.n <> 0)
            SELECT COALESCE(SUM(rows), 0) FROM moved
            """  # noqa: S608  (table names from the models)
        )
        return int(cursor.fetchone()[0])


@transaction.atomic
def thread_counts_recount() -> int:
    """Every category's kept count set to its real count and the log emptied: the repair
    after the trigger was bypassed (``session_replication_role = replica``, a restore of part
    of the tables). Returns how many categories were wrong.

    The threads table is share-locked for the transaction, so a thread written meanwhile
    waits for it (a repair, not a hot path). PostgreSQL only (SQLite counts its rows)."""
    if not selectors.thread_counts_kept():
        return 0
    threads, categories = Thread._meta.db_table, Category._meta.db_table
    changes = ThreadCountChange._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f'LOCK TABLE "{threads}" IN SHARE MODE')
        cursor.execute(
            f"""
            WITH gone AS (DELETE FROM "{changes}" RETURNING category_id, delta),
            logged AS (SELECT category_id, SUM(delta) AS n FROM gone GROUP BY category_id)
            UPDATE "{categories}" AS c SET visible_thread_count = real.n
            FROM (
                SELECT every.id, every.visible_thread_count + COALESCE(logged.n, 0) AS shown,
                    (SELECT COUNT(*) FROM "{threads}" AS t
                     WHERE t.category_id = every.id AND t.visibility = %s) AS n
                FROM "{categories}" AS every LEFT JOIN logged ON logged.category_id = every.id
            ) AS real
            WHERE c.id = real.id AND (c.visible_thread_count <> real.n OR real.shown <> real.n)
            RETURNING real.shown <> real.n
            """,  # noqa: S608  (table names from the models, the value a parameter)
            [Thread.Visibility.VISIBLE.value],
        )
        return sum(wrong for (wrong,) in cursor.fetchall())


def _chunks(items: Iterable[T], size: int) -> Iterator[list[T]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


@transaction.atomic
def category_ensure(
    *, slug: str, name: str, description: str, position: int, nurse_answered: bool
) -> tuple[Category, bool]:
    """Create the category, or bring an existing one with this slug up to date."""
    category = Category(
        slug=slug,
        name=name,
        description=description,
        position=position,
        nurse_answered=nurse_answered,
    )
    category.full_clean(validate_unique=False)
    shown = ("name", "description", "nurse_answered")
    before = Category.objects.filter(slug=slug).values(*shown).first()
    category, created = Category.objects.update_or_create(
        slug=slug,
        defaults={
            "name": name,
            "description": description,
            "position": position,
            "nurse_answered": nurse_answered,
        },
    )
    if before is not None and before != {field: getattr(category, field) for field in shown}:
        category_threads_changed(category.pk)
    return category, created


# --- Validation ---------------------------------------------------------------------------


def _length_error(what: str, value: str, low: int, high: int) -> str | None:
    if len(value) < low:
        return f"{what} must be at least {low} character{'s' if low > 1 else ''} long."
    if len(value) > high:
        return f"{what} must be at most {high:,} characters long (it has {len(value):,})."
    return None


def clean_title(title: str) -> str:
    title = " ".join(title.split())
    if error := _length_error("The title", title, TITLE_MIN, TITLE_MAX):
        raise ValidationError({"title": error})
    return title


def clean_body(body: str) -> str:
    body = body.strip()
    if error := _length_error("The post", body, BODY_MIN, BODY_MAX):
        raise ValidationError({"body": error})
    return body


def thread_lock_visible(thread_id: int) -> Thread:
    """The thread, row-locked for the rest of the transaction; 404 unless visible.

    The first lock of every write to a thread or its posts (see the lock order above).
    """
    thread = _thread_locked(thread_id)
    if thread is None or thread.visibility != Thread.Visibility.VISIBLE:
        raise Http404("No such thread.")
    return thread


def thread_lock(thread_id: int) -> Thread:
    """The thread, row-locked, whatever its visibility: moderation sees held and hidden ones."""
    thread = _thread_locked(thread_id)
    if thread is None:
        raise Http404("No such thread.")
    return thread


def _thread_locked(thread_id: int) -> Thread | None:
    """The thread row-locked, with its category; None if there is no such thread.

    A move that commits while the lock waits changes the row the join matched: PostgreSQL
    rechecks the join against the category it read before waiting and drops the row. Read
    again then (the mover is done): a thread being moved is not a thread that does not exist.
    """
    locked = (
        Thread.objects.select_for_update(of=("self",), no_key=True)
        .select_related("category")
        .filter(pk=thread_id)
    )
    thread = locked.first()
    while thread is None and Thread.objects.filter(pk=thread_id).exists():
        thread = locked.first()
    return thread


def check_thread_visible_to(thread: Thread, *, user: User, moderator: bool) -> None:
    """A held thread is its author's and the moderators'; a hidden one the moderators'
    alone. To anyone else it does not exist (404, never a hint)."""
    if thread.visibility == Thread.Visibility.VISIBLE or moderator:
        return
    if thread.visibility == Thread.Visibility.PENDING and thread.author_id == user.pk:
        return
    raise Http404("No such thread.")


def post_lock(*, thread: Thread, post_id: int) -> Post:
    """One post of a thread the caller has already locked, row-locked in its turn."""
    post = Post.objects.select_for_update(no_key=True).filter(pk=post_id, thread=thread).first()
    if post is None:
        raise Http404("No such post.")
    post.thread = thread
    return post


# --- Screening ----------------------------------------------------------------------------
#
# Every new member post or thread is screened (``forum.policy.screen``) before anything is
# written: a screen may refuse the text by raising. Moderation registers its screens (watched
# words); the forum registers its own below, from ``ForumConfig.ready``.


def screen_new_and_premoderated(author: User, text: str) -> Screening:
    """Hold what a member in pre-moderation posts, and a new member's first posts.

    A member is new until ``HAVEN_NEW_MEMBER_HOLD_POSTS`` of her posts are published, that
    is visible now: a post still held, rejected, hidden or deleted does not count, nor
    anything written under a staff title. 0 (the default) turns the rule off. Staff (nurses,
    moderators) are never held by these two rules.
    """
    if author.role != Role.MEMBER:
        return Screening()
    if author.is_premoderated:
        return Screening(hold=True, reasons=("premoderated",))
    needed = settings.HAVEN_NEW_MEMBER_HOLD_POSTS
    if needed > 0:
        published = Post.objects.filter(
            author=author,
            author_role=Role.MEMBER,
            kind=Post.Kind.POST,
            status=Post.Status.VISIBLE,
        )
        if published.values("pk")[:needed].count() < needed:
            return Screening(hold=True, reasons=("new_member",))
    return Screening()


# --- Threads and posts ------------------------------------------------------------------------


def _post_write(
    *,
    thread: Thread,
    author: User,
    body: str,
    kind: Post.Kind,
    now: datetime,
    screening: Screening | None = None,
    owed_fan_out: bool = True,
    body_html: str | None = None,
) -> Post:
    """A post in its author's voice, fixed now (``accounts.identity.voice_of``), its text
    rendered once (``body_html``, if the caller rendered it before taking its locks); held,
    behind a warning or with crisis signposting as screening decided.

    Unless ``owed_fan_out`` is False (nobody is to hear of it), it leaves ``fanned_out_at``
    empty: ``fan_out_post`` tells its readers and indexes it for search (``forum.fanout``).
    """
    screening = screening or Screening()
    voice = voice_of(author)
    return Post.objects.create(
        thread=thread,
        fanned_out_at=None if owed_fan_out else now,
        author=author,
        author_role=voice.role,
        author_title=voice.title,
        kind=kind,
        body=body,
        body_html=render_markdown(body) if body_html is None else body_html,
        status=Post.Status.PENDING if screening.hold else Post.Status.VISIBLE,
        sensitive=screening.sensitive,
        support_kind=SUPPORT_CRISIS if screening.safeguarding else "",
        created_at=now,
    )


@transaction.atomic
def thread_create(*, author: User, category: Category, title: str, body: str) -> Thread:
    """Start a thread with its opening post; the author follows it from the start.

    Title and text are screened first (a screen may refuse them: nothing is written). A held
    opening post holds its thread (``visibility`` pending): seen only by its author and
    moderators, found by no search, and the nurses hear of a new question (after the commit,
    from ``forum.fanout``) only when a moderator approves it. A text that needs review is
    raised (``forum.policy.raised``) in this transaction.
    """
    check_can_write(author)
    errors: dict[str, str] = {}
    for field, clean, value in (("title", clean_title, title), ("body", clean_body, body)):
        try:
            cleaned = clean(value)
        except ValidationError as exc:
            errors[field] = exc.message_dict[field][0]
        else:
            if field == "title":
                title = cleaned
            else:
                body = cleaned
    if errors:
        raise ValidationError(errors)
    screening = policy.screen(author, f"{title}\n{body}")

    now = timezone.now()
    voice = voice_of(author)
    thread = Thread.objects.create(
        category=category,
        author=author,
        author_role=voice.role,
        author_title=voice.title,
        title=title,
        visibility=Thread.Visibility.PENDING if screening.hold else Thread.Visibility.VISIBLE,
        created_at=now,
        last_activity_at=now,
    )
    # A new question for the nurses: every nurse hears of it, in-app and by email, from the
    # fan-out job; any other opening post (and a held one until approved) tells nobody.
    question = category.nurse_answered
    opening = _post_write(
        thread=thread,
        author=author,
        body=body,
        kind=Post.Kind.POST,
        now=now,
        screening=screening,
        owed_fan_out=question or screening.hold,
    )
    Subscription.objects.create(user=author, thread=thread)
    thread_reindex(thread_id=thread.pk)
    if screening.needs_review:
        policy.raised(opening, screening)
    if question and not screening.hold:
        _fan_out_on_commit(opening)
    return thread


@transaction.atomic
def post_create(*, author: User, thread: Thread, body: str) -> Post:
    """Reply to a thread. A closed thread accepts no replies; nurses and moderators may reopen.

    The text is screened first (a screen may refuse it: nothing is written). The author
    follows the thread. Every other follower hears of the reply after the commit, from the
    fan-out job (``forum.fanout``), unless the reply is held: then nobody hears of it until
    a moderator approves it (``post_hold_approve``). A text that needs review is raised
    (``forum.policy.raised``) in this transaction.

    The thread's row is locked first, by the one conditional ``UPDATE`` of its counters
    (``_reply_take``; screening already decided whether the reply is held), and the post
    row written after it: the module's lock order, so a rename or an erasure of the author
    racing the reply cannot deadlock with it. A thread closed (or hidden) before that update
    refuses the reply and nothing is written; closed after it, the close waits for this
    commit and its notice comes after the reply.
    """
    check_can_write(author)
    body = clean_body(body)
    screening = policy.screen(author, body)
    body_html = render_markdown(body)  # before the thread is locked
    now = timezone.now()
    _reply_take(thread_id=thread.pk, counted=not screening.hold, now=now)
    post = _post_write(
        thread=thread,
        author=author,
        body=body,
        kind=Post.Kind.POST,
        now=now,
        screening=screening,
        body_html=body_html,
    )
    _follow(user=author, thread=thread)
    if screening.needs_review:
        policy.raised(post, screening)
    if post.status == Post.Status.VISIBLE:
        _fan_out_on_commit(post)
    return post


def _reply_take(*, thread_id: int, counted: bool, now: datetime) -> None:
    """Lock the thread for a reply about to be written, refusing it unless the thread is
    visible and open: a counted reply's counters move in the same statement.

    A held reply (not ``counted``) is neither counted nor news, but its author and the
    moderators see it: it moves the thread's version only, and takes the lock all the same,
    so that a close still comes strictly after it or before it. The thread's last activity
    never goes back, even when two replies commit in the other order than their clocks.
    """
    open_thread = Thread.objects.filter(
        pk=thread_id, status=Thread.Status.OPEN, visibility=Thread.Visibility.VISIBLE
    )
    changes: dict[str, Any] = {"version": F("version") + 1}
    if counted:
        changes |= {
            "reply_count": F("reply_count") + 1,
            "last_activity_at": Greatest(F("last_activity_at"), now),
        }
    if open_thread.update(**changes):
        return
    state = Thread.objects.filter(pk=thread_id).values("status", "visibility").first()
    if state is None or state["visibility"] != Thread.Visibility.VISIBLE:
        raise Http404("No such thread.")
    raise Forbidden(
        "thread_closed",
        "This thread is closed to new replies. You can start a new thread instead.",
    )


def _follow(*, user: User, thread: Thread) -> None:
    Subscription.objects.bulk_create(
        [Subscription(user=user, thread=thread)], ignore_conflicts=True
    )


def _fan_out_on_commit(post: Post) -> None:
    """After the commit, the job that tells the post's readers (``forum.fanout``); if the
    broker is down, the sweep finds the post still unfanned."""
    from forum.tasks import fan_out_post

    enqueue_on_commit(fan_out_post, post_id=post.pk)


def post_add(
    *,
    thread: Thread,
    author: User,
    body: str,
    kind: Post.Kind = Post.Kind.POST,
    screening: Screening | None = None,
) -> Post:
    """Append a post to a thread the caller has locked (a nurse's answer): counters, follow.

    The caller checks; its readers hear of it, and search finds it, after the commit
    (``forum.fanout``). The author's public identity is fixed on the post now
    (``accounts.identity.voice_of``). A held post (``screening.hold``) is neither counted nor
    told and leaves the thread's last activity as it was, until it is approved; its author
    follows the thread all the same.
    """
    now = timezone.now()
    post = _post_write(
        thread=thread, author=author, body=body, kind=kind, now=now, screening=screening
    )
    if post.status == Post.Status.VISIBLE:
        Thread.objects.filter(pk=thread.pk).update(
            reply_count=F("reply_count") + 1,
            last_activity_at=Greatest(F("last_activity_at"), now),
            version=F("version") + 1,
        )
        _fan_out_on_commit(post)
    else:
        thread_changed(thread.pk)  # a held reply shows to its author and the moderators
    _follow(user=author, thread=thread)
    return post


def check_post_visible_to(post: Post, *, user: User, moderator: bool) -> None:
    """A held post is its author's and the moderators'; a hidden one the moderators' alone
    (its author was told, with the moderator's note). To anyone else it does not exist."""
    if moderator or post.status in (Post.Status.VISIBLE, Post.Status.DELETED):
        return
    if post.status == Post.Status.PENDING and post.author_id == user.pk:
        return
    raise Http404("No such post.")


def _lock_for_change(*, user: User, post: Post, moderator: bool) -> tuple[Thread, Post]:
    """The thread and post an author or moderator changes, locked in order; 404 unless the
    user may see both (an author edits or deletes her own held post)."""
    thread = thread_lock(post.thread_id)
    check_thread_visible_to(thread, user=user, moderator=moderator)
    post = post_lock(thread=thread, post_id=post.pk)
    check_post_visible_to(post, user=user, moderator=moderator)
    return thread, post


def edit_window() -> timedelta:
    return timedelta(minutes=settings.HAVEN_EDIT_WINDOW_MINUTES)


def clean_note(note: str) -> str:
    """A moderator's note to a member about her post: optional, kept short."""
    note = note.strip()
    if len(note) > 1000:
        raise ValidationError({"note": "The note must be at most 1,000 characters long."})
    return note


def post_revision_keep(*, post: Post, editor: User, reason: str, now: datetime) -> PostRevision:
    """Keep the text a locked post has now, before someone changes it: who, and why.

    The editor is recorded in the voice she writes in (a nurse by her title).
    """
    voice = voice_of(editor)
    return PostRevision.objects.create(
        post=post,
        body=post.body,
        editor=editor,
        editor_role=voice.role,
        editor_title=voice.title,
        reason=reason,
        created_at=now,
    )


def post_text_replace(*, post: Post, body: str, now: datetime) -> None:
    """Give a locked post new text: rendered, shown as edited, and searchable as such."""
    post.body = body
    post.body_html = render_markdown(body)
    post.edited_at = now
    post.save(update_fields=["body", "body_html", "edited_at"])
    thread_reindex(thread_id=post.thread_id)
    thread_changed(post.thread_id)


def check_may_edit(*, user: User, post: Post, thread: Thread, moderator: bool) -> None:
    """Whether ``user`` may edit ``post`` now (403 with the reason otherwise): ``post_edit``'s
    rule, also asked by a page before it offers the form."""
    if post.status == Post.Status.DELETED or post.kind == Post.Kind.SYSTEM:
        raise Forbidden("not_editable", "This post can no longer be edited.")
    if post.kind == Post.Kind.NURSE_ANSWER:
        raise Forbidden(
            "correction_required",
            "A nurse answer changes only through a correction published by a nurse.",
        )
    if not moderator:
        if post.author_id != user.pk:
            raise Forbidden("not_author", "You can only edit your own posts.")
        if timezone.now() - post.created_at > edit_window():
            minutes = settings.HAVEN_EDIT_WINDOW_MINUTES
            raise Forbidden(
                "edit_window_passed",
                f"Posts can be edited for {minutes} minutes after posting.",
            )
        if thread.status == Thread.Status.CLOSED:
            raise Forbidden("thread_closed", "This thread is closed.")


@transaction.atomic
def post_edit(*, user: User, post: Post, body: str, reason: str = "") -> Post:
    """Authors edit their own posts within the edit window; moderators edit any, any time.

    Nurse answers are published clinical text: they change only through a nurse's
    correction, never here, not even by a moderator (403 ``correction_required``). An edit
    of someone else's post keeps the text it replaces (a revision, with the reason) and is
    recorded in the audit log. Sending the text unchanged changes nothing.

    The new text is screened as a new post's is (``_edit_screening``): a refused text
    changes nothing; a text that needs review is raised, the post staying as it is shown.
    """
    check_can_write(user)
    moderator = user.has_perm("forum.moderate_post")
    reason = clean_reason(reason)
    thread, post = _lock_for_change(user=user, post=post, moderator=moderator)
    check_may_edit(user=user, post=post, thread=thread, moderator=moderator)
    body = clean_body(body)
    if body == post.body:
        return post
    screening = _edit_screening(editor=user, body=body)
    now = timezone.now()
    if screening.sensitive or screening.safeguarding:
        post.sensitive = post.sensitive or screening.sensitive
        post.support_kind = SUPPORT_CRISIS if screening.safeguarding else post.support_kind
        post.save(update_fields=["sensitive", "support_kind"])
    if screening.needs_review:
        policy.raised(post, screening)
    if post.author_id != user.pk:
        revision = post_revision_keep(post=post, editor=user, reason=reason, now=now)
        audit_record(
            actor=user,
            action="post_edited",
            target=post,
            reason=reason,
            data={"revision": revision.pk},
        )
    post_text_replace(post=post, body=body, now=now)
    return post


def _edit_screening(*, editor: User, body: str) -> Screening:
    """What an edit's new text means: the screens of a new post, but an edit never holds a
    post already shown. A watched word that would have held it raises it for review instead
    (``flag``), and so does any edit by a member in pre-moderation; being new concerns new
    posts only."""
    found = policy.screen(editor, body)
    return Screening(
        # A member in pre-moderation publishes nothing unreviewed, edits included.
        flag=found.flag
        or (found.hold and "watched_word" in found.reasons)
        or editor.is_premoderated,
        safeguarding=found.safeguarding,
        sensitive=found.sensitive,
        reasons=tuple(r for r in found.reasons if r != "new_member"),
    )


def thread_recount(*, thread_id: int) -> None:
    """Recompute a thread's counters from its posts (after a deletion or a moderation); the
    thread changed (its ``version`` moves on)."""
    opening = Post.objects.filter(thread_id=thread_id).order_by("created_at", "id").first()
    counted = Post.objects.filter(thread_id=thread_id, status=Post.Status.VISIBLE)
    totals = counted.aggregate(
        replies=Count("id", filter=~Q(kind=Post.Kind.SYSTEM) & ~Q(pk=getattr(opening, "pk", 0))),
        likes=Coalesce(Sum("like_count"), 0),
    )
    Thread.objects.filter(pk=thread_id).update(
        reply_count=totals["replies"], like_count=totals["likes"], version=F("version") + 1
    )


def check_may_delete(*, user: User, post: Post, moderator: bool) -> None:
    """Whether ``user`` may delete ``post`` (403 with the reason otherwise): ``post_delete``'s
    rule, also asked by a page before it asks for a confirmation."""
    if post.author_id != user.pk and not moderator:
        raise Forbidden("not_author", "You can only delete your own posts.")
    if post.kind == Post.Kind.SYSTEM:
        raise Forbidden("not_editable", "Notices cannot be deleted.")
    if post.kind == Post.Kind.NURSE_ANSWER:
        # The question's answered state and the published record hang on it.
        raise Forbidden("not_editable", "Nurse answers are kept as published.")


@transaction.atomic
def post_delete(*, user: User, post: Post, reason: str = "") -> Post:
    """Soft delete: the text is removed and a tombstone keeps the thread's order coherent.

    Authors delete their own posts, moderators any: then the text is kept as a revision and
    the deletion is recorded in the audit log. Deleting twice changes nothing.
    """
    check_can_write(user)
    moderator = user.has_perm("forum.moderate_post")
    reason = clean_reason(reason)
    _thread, post = _lock_for_change(user=user, post=post, moderator=moderator)
    check_may_delete(user=user, post=post, moderator=moderator)
    if post.status == Post.Status.DELETED:
        return post
    if post.author_id != user.pk:
        revision = post_revision_keep(post=post, editor=user, reason=reason, now=timezone.now())
        audit_record(
            actor=user,
            action="post_deleted",
            target=post,
            reason=reason,
            data={"revision": revision.pk},
        )
    Like.objects.filter(post=post).delete()
    post.status = Post.Status.DELETED
    post.body = ""
    post.body_html = TOMBSTONE_HTML
    post.like_count = 0
    post.edited_at = timezone.now()
    post.save(update_fields=["status", "body", "body_html", "like_count", "edited_at"])
    thread_recount(thread_id=post.thread_id)
    thread_reindex(thread_id=post.thread_id)
    return post


# --- Closing ------------------------------------------------------------------------------


def may_close(user: User) -> bool:
    """Closing speaks for the staff: it takes the nurse or moderator role itself (a superuser
    without one has no title to close under), and the role's permission."""
    return user.role in (Role.NURSE, Role.MODERATOR) and user.has_perm("forum.close_thread")


def check_may_close(user: User) -> None:
    """Whether ``user`` may close or reopen threads (``Forbidden`` if not): a nurse or
    moderator (``may_close``) who may write (``check_can_write``: not suspended, verified)."""
    if not may_close(user):
        raise Forbidden("not_allowed", "Only nurses and moderators close or reopen threads.")
    check_can_write(user)


def _system_post(*, thread: Thread, text: str, now: datetime) -> Post:
    return Post.objects.create(
        thread=thread,
        author=None,
        kind=Post.Kind.SYSTEM,
        body=text,
        body_html=render_markdown(text),
        created_at=now,
        fanned_out_at=now,  # a notice is news to nobody; searchable from the start
    )


_CLOSING_FIELDS = (
    "status",
    "closed_at",
    "closed_by",
    "closed_by_role",
    "closed_by_title",
    "close_reason",
)


@transaction.atomic
def thread_close(
    *, actor: User, thread: Thread, reason: str = "", notice: str | None = None
) -> Thread:
    """Close a thread to replies; it stays readable, likeable and flaggable.

    Only nurses and moderators close. Who closed shows as their staff title, fixed now
    (``closed_by`` itself stays for the records). A notice (``notice``, else the reason) is
    added to the thread and the closing is recorded in the audit log.
    """
    check_may_close(actor)
    thread = thread_lock_visible(thread.pk)
    if thread.status == Thread.Status.CLOSED:
        raise Conflict("already_closed", "This thread is already closed.")
    now = timezone.now()
    reason = clean_reason(reason)
    voice = voice_of(actor)
    thread.status = Thread.Status.CLOSED
    thread.closed_at, thread.closed_by, thread.close_reason = now, actor, reason
    thread.closed_by_role, thread.closed_by_title = voice.role, voice.title
    thread.last_activity_at = now
    thread.save(update_fields=[*_CLOSING_FIELDS, "last_activity_at"])
    text = (notice or reason or "This thread has been closed to new replies.").strip()
    _system_post(thread=thread, text=text, now=now)
    thread_changed(thread.pk)
    audit_record(actor=actor, action="thread_closed", target=thread, reason=reason)
    return thread


@transaction.atomic
def thread_reopen(*, actor: User, thread: Thread, reason: str = "") -> Thread:
    """Open a closed thread to replies again; nurses and moderators only, audited."""
    check_may_close(actor)
    reason = clean_reason(reason)
    thread = thread_lock_visible(thread.pk)
    if thread.status == Thread.Status.OPEN:
        raise Conflict("already_open", "This thread is already open.")
    now = timezone.now()
    thread.status = Thread.Status.OPEN
    thread.closed_at, thread.closed_by, thread.close_reason = None, None, ""
    thread.closed_by_role, thread.closed_by_title = "", ""
    thread.last_activity_at = now
    thread.save(update_fields=[*_CLOSING_FIELDS, "last_activity_at"])
    _system_post(thread=thread, text="This thread has been reopened for replies.", now=now)
    thread_changed(thread.pk)
    audit_record(actor=actor, action="thread_reopened", target=thread, reason=reason)
    return thread


# --- Likes --------------------------------------------------------------------------------


def _likeable_for_update(*, user: User, post: Post) -> Post:
    """The post to like, locked after its thread: a like changes the thread's counter too."""
    check_can_write(user)
    thread = thread_lock_visible(post.thread_id)
    post = post_lock(thread=thread, post_id=post.pk)
    if post.status != Post.Status.VISIBLE:
        raise Http404("No such post.")
    if post.kind == Post.Kind.SYSTEM:
        raise Forbidden("not_likeable", "Notices cannot be liked.")
    return post


@transaction.atomic
def post_like(*, user: User, post: Post) -> Post:
    """One like per member per post; liking twice is the same as once. Closed threads too.

    The thread and post rows are locked, so concurrent likes are counted one after the
    other, exactly.
    """
    post = _likeable_for_update(user=user, post=post)
    if post.author_id == user.pk:
        raise Forbidden("own_post", "You can't like your own post.")
    if not Like.objects.filter(user=user, post=post).exists():
        Like.objects.create(user=user, post=post)
        Post.objects.filter(pk=post.pk).update(like_count=F("like_count") + 1)
        Thread.objects.filter(pk=post.thread_id).update(
            like_count=F("like_count") + 1, version=F("version") + 1
        )
        post.refresh_from_db(fields=["like_count"])
    return post


@transaction.atomic
def post_unlike(*, user: User, post: Post) -> Post:
    post = _likeable_for_update(user=user, post=post)
    deleted, _ = Like.objects.filter(user=user, post=post).delete()
    if deleted:
        Post.objects.filter(pk=post.pk).update(like_count=F("like_count") - 1)
        Thread.objects.filter(pk=post.thread_id).update(
            like_count=F("like_count") - 1, version=F("version") + 1
        )
        post.refresh_from_db(fields=["like_count"])
    return post


# --- Following and notifications ------------------------------------------------------------


@transaction.atomic
def thread_follow(*, user: User, thread: Thread) -> None:
    check_can_write(user)
    thread = thread_lock_visible(thread.pk)
    Subscription.objects.bulk_create(
        [Subscription(user=user, thread=thread)], ignore_conflicts=True
    )


@transaction.atomic
def thread_unfollow(*, user: User, thread: Thread) -> None:
    Subscription.objects.filter(user=user, thread=thread).delete()


def notification_build(
    *,
    recipient_id: int,
    wants_email: bool,
    kind: Notification.Kind,
    post: Post,
    actor_id: int | None,
    high: bool = False,
    sequence: int = 0,
    note: str = "",
) -> Notification:
    """One notification row, unsaved: its email pending if the recipient wants it."""
    return Notification(
        recipient_id=recipient_id,
        kind=kind,
        sequence=sequence,
        priority=Notification.Priority.HIGH if high else Notification.Priority.NORMAL,
        thread_id=post.thread_id,
        post=post,
        actor_id=actor_id,
        note=note,
        email=Notification.Email.PENDING if wants_email else Notification.Email.NOT_WANTED,
    )


def notify_users(
    *,
    recipients: QuerySet[User],
    thread: Thread,
    post: Post,
    kind: Notification.Kind,
    actor: User | None,
    high_priority_for: Iterable[int] = (),
    email_always: bool = False,
    sequence: int = 0,
    note: str = "",
) -> int:
    """Record one notification per recipient (never the actor, never a closed account).

    For the few (a post's author, the staff): rows are written in batches inside the
    caller's transaction and the email job leaves after the commit. A post's followers are
    told by the fan-out job instead (``forum.fanout``), off the request. Emails follow each
    member's "email on reply" choice unless ``email_always`` (staff work such as new
    questions). A repeated call creates nothing twice: a notification is unique per
    recipient, kind, post and ``sequence``.
    """
    high = set(high_priority_for)
    recipients = recipients.filter(is_active=True)
    if actor is not None:
        recipients = recipients.exclude(pk=actor.pk)
    rows = recipients.order_by("pk").values_list("pk", "email_on_reply")
    size = settings.HAVEN_FANOUT_BATCH
    created = 0
    for chunk in _chunks(rows.iterator(chunk_size=size), size):
        created += len(
            Notification.objects.bulk_create(
                [
                    notification_build(
                        recipient_id=user_id,
                        wants_email=wants_email or email_always,
                        kind=kind,
                        post=post,
                        actor_id=actor.pk if actor is not None else None,
                        high=user_id in high,
                        sequence=sequence,
                        note=note,
                    )
                    for user_id, wants_email in chunk
                ],
                ignore_conflicts=True,
            )
        )
    from forum.tasks import deliver_notification_emails

    enqueue_on_commit(deliver_notification_emails, post_id=post.pk)
    return created


@transaction.atomic
def notifications_mark_read(
    *, user: User, ids: list[int] | None = None, everything: bool = False
) -> int:
    """Mark some (or all) of a member's own notifications read; returns how many changed."""
    unread = Notification.objects.filter(recipient=user, read_at__isnull=True)
    if not everything:
        unread = unread.filter(pk__in=ids or [])
    return unread.update(read_at=timezone.now())


# --- Moderation -----------------------------------------------------------------------------
#
# What moderators (and the flag threshold) do to a post's visibility. A post's status moves
# visible ⇄ hidden and pending → visible | hidden; a thread's opening post carries the
# thread with it (a held first post holds its thread). Counters are recounted and the
# search index rebuilt from visible posts, so what is not shown is neither counted nor found.


def check_may_moderate(user: User) -> None:
    check_can_write(user)
    if not user.has_perm("forum.moderate_post"):
        raise Forbidden("not_allowed", "Only moderators hide, restore or approve posts.")


def is_opening_post(post: Post) -> bool:
    first = (
        Post.objects.filter(thread_id=post.thread_id).order_by("created_at", "id").values("pk")[:1]
    )
    return bool(first) and first[0]["pk"] == post.pk


def _moderation_lock(post: Post) -> Post:
    thread = thread_lock(post.thread_id)
    return post_lock(thread=thread, post_id=post.pk)


def _check_moderatable(post: Post) -> None:
    if post.kind != Post.Kind.POST:
        raise Forbidden(
            "not_moderatable", "Nurse answers and notices are not hidden or held: see corrections."
        )
    if post.status == Post.Status.DELETED:
        raise Conflict("post_deleted", "This post has been deleted.")


def _post_status_set(post: Post, status: Post.Status, *, now: datetime) -> None:
    """Move a locked post (and, for an opening post, its thread) to ``status``; recount."""
    post.status = status
    post.save(update_fields=["status"])
    if is_opening_post(post):
        visibility = {
            Post.Status.VISIBLE: Thread.Visibility.VISIBLE,
            Post.Status.PENDING: Thread.Visibility.PENDING,
            Post.Status.HIDDEN: Thread.Visibility.HIDDEN,
        }[status]
        Thread.objects.filter(pk=post.thread_id).update(visibility=visibility)
        post.thread.visibility = visibility
    thread_recount(thread_id=post.thread_id)
    thread_reindex(thread_id=post.thread_id)


def _tell_author(*, post: Post, kind: Notification.Kind, note: str) -> None:
    """Tell a post's author what a moderator decided; each decision its own notice."""
    if post.author_id is None:
        return
    earlier = Notification.objects.filter(recipient_id=post.author_id, kind=kind, post=post)
    notify_users(
        recipients=User.objects.filter(pk=post.author_id),
        thread=post.thread,
        post=post,
        kind=kind,
        actor=None,
        email_always=True,
        sequence=earlier.count(),
        note=note,
    )


@transaction.atomic
def post_hide(
    *,
    actor: User | None,
    post: Post,
    reason: str = "",
    note: str = "",
    notify_author: bool = True,
) -> Post:
    """Hide a visible or held post from everyone but moderators, with a reason (audited).

    ``actor`` None is the flag threshold hiding a post until a moderator reviews it. A
    hidden opening post hides its thread. The author is told, with the moderator's ``note``.
    """
    if actor is not None:
        check_may_moderate(actor)
    reason, note = clean_reason(reason), clean_note(note)
    post = _moderation_lock(post)
    return _hide_locked(
        actor=actor, post=post, reason=reason, note=note, notify_author=notify_author
    )


def _hide_locked(
    *, actor: User | None, post: Post, reason: str, note: str, notify_author: bool
) -> Post:
    _check_moderatable(post)
    if post.status == Post.Status.HIDDEN:
        raise Conflict("already_hidden", "This post is already hidden.")
    was = post.status
    _post_status_set(post, Post.Status.HIDDEN, now=timezone.now())
    audit_record(
        actor=actor,
        action="post_hidden",
        target=post,
        reason=reason,
        data={"was": was, "by_flags": actor is None},
    )
    if notify_author and (actor is None or post.author_id != actor.pk):
        kind = Notification.Kind.POST_REJECTED if was == Post.Status.PENDING else None
        _tell_author(post=post, kind=kind or Notification.Kind.POST_HIDDEN, note=note)
    return post


@transaction.atomic
def post_hidden_confirm(*, actor: User, post: Post, reason: str = "", note: str = "") -> Post:
    """A moderator confirms a hiding the flag threshold made: audited under her name, and
    the author told again, now with the moderator's ``note``."""
    check_may_moderate(actor)
    reason, note = clean_reason(reason), clean_note(note)
    post = _moderation_lock(post)
    if post.status != Post.Status.HIDDEN:
        raise Conflict("not_hidden", "This post is not hidden.")
    thread_changed(post.thread_id)  # what moderators read of it: now their decision
    audit_record(
        actor=actor, action="post_hidden", target=post, reason=reason, data={"was": "hidden"}
    )
    _tell_author(post=post, kind=Notification.Kind.POST_HIDDEN, note=note)
    return post


@transaction.atomic
def post_restore(*, actor: User, post: Post, reason: str = "") -> Post:
    """Show a hidden post again (its thread too, if it opens one), audited."""
    check_may_moderate(actor)
    reason = clean_reason(reason)
    post = _moderation_lock(post)
    _check_moderatable(post)
    if post.status != Post.Status.HIDDEN:
        raise Conflict("not_hidden", "This post is not hidden.")
    _post_status_set(post, Post.Status.VISIBLE, now=timezone.now())
    audit_record(actor=actor, action="post_restored", target=post, reason=reason)
    return post


@transaction.atomic
def post_hold_approve(*, actor: User, post: Post, note: str = "") -> Post:
    """Publish a held post: shown, counted, and only now are its readers told and is it
    searchable (by the fan-out job, after the commit: ``forum.fanout``).

    A held opening post publishes its thread; in a nurse-answered category the nurses hear
    of the new question now. The author hears that the post was approved.
    """
    check_may_moderate(actor)
    note = clean_note(note)
    post = _moderation_lock(post)
    _check_moderatable(post)
    if post.status != Post.Status.PENDING:
        raise Conflict("not_pending", "This post is not waiting for approval.")
    now = timezone.now()
    _post_status_set(post, Post.Status.VISIBLE, now=now)
    Thread.objects.filter(pk=post.thread_id).update(last_activity_at=now)
    audit_record(actor=actor, action="post_approved", target=post, reason=note)
    # Its readers hear of it after the commit, from the fan-out job, which decides who: the
    # nurses for a question, the followers for a reply (nobody, in a thread hidden meanwhile).
    _fan_out_on_commit(post)
    _tell_author(post=post, kind=Notification.Kind.POST_APPROVED, note=note)
    return post


@transaction.atomic
def post_hold_reject(*, actor: User, post: Post, note: str = "") -> Post:
    """Refuse a held post: it stays hidden (the author is told why, with ``note``).

    Audited as ``post_hidden`` with ``"was": "pending"``; the note is the audit's reason.
    """
    check_may_moderate(actor)
    note = clean_note(note)
    post = _moderation_lock(post)
    if post.status != Post.Status.PENDING:
        raise Conflict("not_pending", "This post is not waiting for approval.")
    return _hide_locked(actor=actor, post=post, reason=note, note=note, notify_author=True)


@transaction.atomic
def thread_move(*, actor: User, thread: Thread, category: Category, reason: str = "") -> Thread:
    """Move a thread to another category, audited with where it came from."""
    check_can_write(actor)
    if not actor.has_perm("forum.move_thread"):
        raise Forbidden("not_allowed", "Only moderators move threads.")
    reason = clean_reason(reason)
    thread = thread_lock(thread.pk)
    if thread.category_id == category.pk:
        raise Conflict("same_category", "The thread is already in this category.")
    was = thread.category.slug
    thread.category = category
    thread.save(update_fields=["category"])
    thread_changed(thread.pk)
    audit_record(
        actor=actor,
        action="thread_moved",
        target=thread,
        reason=reason,
        data={"from": was, "to": category.slug},
    )
    return thread
