"""Reads shaped for their callers: related rows joined, per-viewer flags annotated, no N+1.

Who sees what: a visible thread or post, everyone; a held one (``pending``), its author and
moderators; a hidden one, moderators alone. Lists, search and "similar" show visible threads
only, to everyone. Anything else is a 404, never a hint that it exists.
"""

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.db.models import (
    BooleanField,
    Count,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.http import Http404

from accounts.models import Mute, User
from accounts.roles import Role
from core.database.prepared import Prepared
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
from forum.search import threads_like_title

SIMILAR_LIMIT = 5


def category_list() -> QuerySet[Category]:
    return Category.objects.order_by("position", "id")


def _signed_in(viewer: Any) -> bool:
    return bool(viewer is not None and viewer.is_authenticated)


def sees_moderated(viewer: Any) -> bool:
    """Whether the viewer moderates posts, and so sees held and hidden ones.

    The role is read first (``accounts.roles``: group membership follows it), so members
    and nurses, who read most pages, pay no permission query.
    """
    if not _signed_in(viewer) or not (viewer.role == Role.MODERATOR or viewer.is_superuser):
        return False
    return bool(viewer.has_perm("forum.moderate_post"))


def thread_visible_to(thread: Thread, viewer: Any) -> bool:
    if thread.visibility == Thread.Visibility.VISIBLE:
        return True
    if (
        thread.visibility == Thread.Visibility.PENDING
        and _signed_in(viewer)
        and thread.author_id == viewer.pk
    ):
        return True
    return sees_moderated(viewer)


def post_visible_to(post: Post, viewer: Any) -> bool:
    if post.status in (Post.Status.VISIBLE, Post.Status.DELETED):
        return True
    if post.status == Post.Status.PENDING and _signed_in(viewer) and post.author_id == viewer.pk:
        return True
    return sees_moderated(viewer)


def _with_following(threads: QuerySet[Thread], viewer: Any) -> QuerySet[Thread]:
    if not _signed_in(viewer):
        return threads.annotate(following=Value(False, output_field=BooleanField()))
    follows = Subscription.objects.filter(thread=OuterRef("pk"), user=viewer)
    return threads.annotate(following=Exists(follows))


def _visible_threads() -> QuerySet[Thread]:
    return Thread.objects.filter(visibility=Thread.Visibility.VISIBLE).select_related(
        "category", "author"
    )


def thread_list(*, viewer: Any) -> QuerySet[Thread]:
    """Visible threads, newest activity first; ``forum.filters.ThreadFilter`` narrows them."""
    return _with_following(_visible_threads(), viewer).order_by("-last_activity_at", "-id")


def with_visible_thread_count(categories: QuerySet[Category]) -> QuerySet[Category]:
    """``categories``, each with ``visible_threads``: its kept count plus the changes logged
    since the last fold (``forum.models.ThreadCountChange``), in the same statement, so never
    a change counted twice or missed by a fold in between."""
    logged = (
        ThreadCountChange.objects.filter(category_id=OuterRef("pk"))
        .order_by()
        .values("category_id")
        .annotate(n=Sum("delta"))
        .values("n")
    )
    return categories.annotate(
        visible_threads=F("visible_thread_count")
        + Coalesce(Subquery(logged, output_field=IntegerField()), 0)
    )


def thread_counts_kept() -> bool:
    """Whether the kept counts are kept: by PostgreSQL's trigger (migration 0013); SQLite,
    the demo, counts the threads."""
    return connection.vendor == "postgresql"


# ``visible_thread_count``'s statement (every list request runs it: compiled by the ORM it cost
# more than PostgreSQL takes to answer it): the kept counts of the categories chosen (all, or
# the one with a slug) plus their logged changes, in one snapshot.
_VISIBLE_THREAD_COUNT = """
SELECT COALESCE(SUM(c.visible_thread_count), 0)
  + COALESCE((SELECT SUM(d.delta) FROM forum_threadcountchange d
              WHERE d.category_id IN (SELECT id FROM forum_category
                                      WHERE %(slug)s::text IS NULL OR slug = %(slug)s)), 0)
FROM forum_category c WHERE %(slug)s::text IS NULL OR c.slug = %(slug)s
"""


def visible_thread_count(*, category_slug: str | None = None) -> int | None:
    """How many threads are visible, in every category or the one with ``category_slug``
    (0 if there is none), from the kept counts: one small statement, never a ``COUNT`` of
    the threads; None where they are not kept (``thread_counts_kept``: the caller counts)."""
    if not thread_counts_kept():
        return None
    with connection.cursor() as cursor:
        cursor.execute(_VISIBLE_THREAD_COUNT, {"slug": category_slug})
        (count,) = cursor.fetchone()
    return int(count)


# Every visible thread's narrow rows (``forum.thread_lists.page_keys``) in the list's order:
# ``thread_list(viewer=...).values_list("pk", "version", "following")`` written out. The list
# naming no filter (most requests) runs it: building and compiling that queryset cost more
# than PostgreSQL takes to answer it.
_PAGE_KEYS = """
SELECT t.id, t.version, {following}
FROM forum_thread t WHERE t.visibility = %(visible)s
ORDER BY t.last_activity_at DESC, t.id DESC LIMIT %(limit)s OFFSET %(offset)s
"""
_FOLLOWING = """EXISTS (SELECT 1 FROM forum_subscription s
  WHERE s.thread_id = t.id AND s.user_id = %(viewer)s)"""
# The same rows with the kept count of every visible thread (``visible_thread_count``'s
# statement) beside them, in one statement and one snapshot: a row with the count alone when
# the page is past the last, which reads no thread at all (the offset is checked against the
# count first, as the paginator checks the page number before it slices).
_COUNTED_PAGE_KEYS = """
SELECT counted.n, k.id, k.version, k.following
FROM (SELECT ({count}) AS n) AS counted LEFT JOIN LATERAL (
  SELECT t.id, t.version, {{following}} AS following, t.last_activity_at
  FROM forum_thread t WHERE t.visibility = %(visible)s AND %(offset)s < counted.n
  ORDER BY t.last_activity_at DESC, t.id DESC LIMIT %(limit)s OFFSET %(offset)s
) AS k ON true
ORDER BY k.last_activity_at DESC, k.id DESC
"""
# The SQL types of the statements' parameters, for their PREPARE.
_PARAM_TYPES = {
    "visible": "varchar",
    "limit": "bigint",
    "offset": "bigint",
    "slug": "text",
    "viewer": "bigint",
    "thread": "bigint",
    "posts": "text",
    "authors": "text",
}


def _prepared(name: str, sql: str) -> Prepared:
    """``sql`` prepared once per connection (``core.database.prepared``): these statements run
    on nearly every read, and PostgreSQL took longer to plan them than to answer them."""
    params = [(param, t) for param, t in _PARAM_TYPES.items() if f"%({param})s" in sql]
    return Prepared(name, sql, params)


_STATEMENTS = {
    signed_in: (
        _prepared(f"page_keys_{who}", _PAGE_KEYS.format(following=following)),
        _prepared(
            f"counted_page_keys_{who}",
            _COUNTED_PAGE_KEYS.format(count=_VISIBLE_THREAD_COUNT).format(following=following),
        ),
    )
    for signed_in, who, following in ((False, "public", "false"), (True, "member", _FOLLOWING))
}

KeyRow = tuple[int, int, bool]  # id, version, following


class ThreadPageKeys:
    """Every visible thread's ``(id, version, following)`` for ``viewer``, newest activity
    first: what the paginator slices (one statement a page) and counts.

    ``window``, the ``(offset, limit)`` the page will ask for if the caller knows it, lets
    ``kept_count`` read that page's rows in the statement that reads the count: one round
    trip for both."""

    ordered = True  # for Django's paginator

    def __init__(self, viewer: Any, *, window: tuple[int, int] | None = None) -> None:
        self.viewer = viewer
        self.window = window
        self._read: tuple[int, list[KeyRow]] | None = None  # offset, rows read with the count
        self._kept: tuple[int | None] | None = None  # the kept count, once read

    def count(self) -> int:
        """Counted, as Django's paginator counts (where the counts are not kept)."""
        return Thread.objects.filter(visibility=Thread.Visibility.VISIBLE).count()

    def kept_count(self) -> int | None:
        """The kept count of every visible thread (``visible_thread_count``; None where the
        counts are not kept: then ``count``), with ``window``'s rows read beside it. Read
        once: asked again (by a view given what the fast path read), it is not read again."""
        if self._kept is None:
            self._kept = (self._read_kept_count(),)
        return self._kept[0]

    def _read_kept_count(self) -> int | None:
        if not thread_counts_kept():
            return None
        if self.window is None:
            return visible_thread_count()
        offset, limit = self.window
        rows = self._rows(counted=True, offset=offset, limit=limit)
        self._read = (offset, [_key(row[1:]) for row in rows if row[1] is not None])
        return int(rows[0][0])

    def __getitem__(self, window: slice) -> list[KeyRow]:
        start, stop = window.start or 0, window.stop
        if self._read is not None and self.window is not None and stop is not None:
            offset, rows = self._read
            if start == offset and stop - start <= self.window[1]:
                return rows[: stop - start]
        limit = None if stop is None else stop - start
        return [_key(row) for row in self._rows(counted=False, offset=start, limit=limit)]

    def _rows(self, *, counted: bool, offset: int, limit: int | None) -> list[Any]:
        params: dict[str, Any] = {
            "visible": Thread.Visibility.VISIBLE.value,
            "limit": None if limit is None else max(limit, 0),
            "offset": offset,
            "slug": None,  # the count of every category's
        }
        signed_in = _signed_in(self.viewer)
        if signed_in:
            params["viewer"] = self.viewer.pk
        with connection.cursor() as cursor:
            _STATEMENTS[signed_in][counted].execute(cursor, params)
            return cursor.fetchall()


def _key(row: Sequence[Any]) -> KeyRow:
    return (int(row[0]), int(row[1]), bool(row[2]))


def thread_get(*, thread_id: int, viewer: Any) -> Thread:
    """The thread with the viewer's ``following``; a held or hidden one only for those who
    may see it (``viewer`` None: the public)."""
    threads = Thread.objects.select_related("category", "author")
    thread = _with_following(threads, viewer).filter(pk=thread_id).first()
    if thread is None or not thread_visible_to(thread, viewer):
        raise Http404("No such thread.")
    return thread


def thread_for_posts(*, thread_id: int, viewer: Any) -> Thread:
    """The thread whose posts the viewer reads or replies to (one query), if she may see it."""
    thread = Thread.objects.filter(pk=thread_id).first()
    if thread is None or not thread_visible_to(thread, viewer):
        raise Http404("No such thread.")
    return thread


def thread_similar(*, title: str) -> list[Thread]:
    """Up to five earlier threads a draft title resembles: "was this asked before?"."""
    return threads_like_title(_visible_threads(), title, limit=SIMILAR_LIMIT)


def _with_viewer_bits(posts: QuerySet[Post], viewer: Any) -> QuerySet[Post]:
    """``liked_by_me`` and ``muted`` (the viewer muted the author), in the same query."""
    if not _signed_in(viewer):
        no = Value(False, output_field=BooleanField())
        return posts.annotate(liked_by_me=no, muted=no)
    return posts.annotate(
        liked_by_me=Exists(Like.objects.filter(post=OuterRef("pk"), user=viewer)),
        muted=Exists(Mute.objects.filter(user=viewer, muted_id=OuterRef("author_id"))),
    )


def shown_muted(post: Post) -> bool:
    """Whether a post of ``post_page_queryset`` comes collapsed: the viewer muted its author.

    Staff write as their role, never as a person: nobody mutes a title.
    """
    return bool(getattr(post, "muted", False)) and post.author_role == Role.MEMBER


def post_page_queryset(*, thread: Thread, viewer: Any) -> QuerySet[Post]:
    """A thread's posts, oldest first, for cursor pagination; tombstones keep their place.

    Held posts are shown to their author and moderators, hidden ones to moderators only.
    """
    posts = Post.objects.filter(thread=thread).select_related("author")
    if not sees_moderated(viewer):
        shown = Q(status__in=[Post.Status.VISIBLE, Post.Status.DELETED])
        if _signed_in(viewer):
            shown |= Q(status=Post.Status.PENDING, author=viewer)
        posts = posts.filter(shown)
    return _with_viewer_bits(posts, viewer)


# What a post row of the posts page is built from (``forum.posts_cache.post_row``).
POST_ROW_FIELDS = (
    "id",
    "thread_id",
    "author_id",
    "author_role",
    "author_title",
    "author__is_active",
    "author__display_name",
    "kind",
    "body",
    "body_html",
    "like_count",
    "created_at",
    "edited_at",
    "status",
    "sensitive",
    "support_kind",
)


def post_page_rows(*, thread_id: int, viewer: Any) -> QuerySet[Post, dict[str, Any]]:
    """The public's posts of a thread (visible and tombstones), oldest first for the cursor
    pagination, as value rows with ``liked_by_me`` and ``muted`` for ``viewer``.

    Only for viewers who see exactly what the public sees (``PostsPageState.public``); the
    caller checked the thread is visible. No model is built: the page is plain values.
    """
    posts = Post.objects.filter(
        thread_id=thread_id, status__in=[Post.Status.VISIBLE, Post.Status.DELETED]
    )
    return _with_viewer_bits(posts, viewer).values(*POST_ROW_FIELDS, "liked_by_me", "muted")


@dataclass(frozen=True)
class PostsPageState:
    """What a posts page needs to know about its thread and its viewer, from one query.

    ``liked`` and ``muted`` are the viewer's likes among the page's posts and mutes among
    its authors (empty for the public); ``held`` whether the viewer has a held post in the
    thread (her pages then show it: not the public's page).
    """

    version: int
    visibility: str
    author_id: int | None
    held: bool = False
    liked: frozenset[int] = frozenset()
    muted: frozenset[int] = frozenset()

    @property
    def public(self) -> bool:
        """Whether the viewer sees the page the public sees (moderators aside: the caller
        sends them elsewhere)."""
        return self.visibility == Thread.Visibility.VISIBLE and not self.held


# ``posts_page_state``'s statements: every posts page runs one, and compiling it through the
# ORM each time cost more than PostgreSQL takes to answer it. Values are parameters only, but
# the held status: written in the SQL, the planner matches it to the partial index of held
# posts (``forum_post_held_idx``, ``WHERE status = 'pending'``) whatever the driver's binding
# (a server-side parameter would not match a partial index's predicate).
_PUBLIC_PAGE_STATE = "SELECT version, visibility, author_id FROM forum_thread WHERE id = %(thread)s"
_VIEWER_PAGE_STATE = """
SELECT t.version, t.visibility, t.author_id,
  EXISTS (SELECT 1 FROM forum_post p
          WHERE p.thread_id = t.id AND p.author_id = %(viewer)s
            AND p.status = 'pending'),
  ARRAY(SELECT l.post_id FROM forum_like l
        WHERE l.user_id = %(viewer)s AND l.post_id = ANY(%(posts)s::bigint[])),
  ARRAY(SELECT m.muted_id FROM accounts_mute m
        WHERE m.user_id = %(viewer)s AND m.muted_id = ANY(%(authors)s::bigint[]))
FROM forum_thread t WHERE t.id = %(thread)s
"""
# The status written above is the held status (``Post.Status.PENDING``), as the index's is.
assert Post.Status.PENDING.value == "pending", "_VIEWER_PAGE_STATE: the held status"  # noqa: S101
_PUBLIC_STATE = _prepared("public_page_state", _PUBLIC_PAGE_STATE)
_VIEWER_STATE = _prepared("viewer_page_state", _VIEWER_PAGE_STATE)


# What the public's thread page shows beyond its posts, for its cache's stamp: the thread's
# version and visibility, its category's slug and name, its opener as published.
_PUBLIC_THREAD_HEAD = """
SELECT t.version, t.visibility, c.slug, c.name,
  t.author_id, t.author_role, t.author_title, u.is_active, u.display_name
FROM forum_thread t
JOIN forum_category c ON c.id = t.category_id
LEFT JOIN accounts_user u ON u.id = t.author_id
WHERE t.id = %(thread)s
"""
_HEAD_FIELDS = (
    "version",
    "visibility",
    "category_slug",
    "category_name",
    "author_id",
    "author_role",
    "author_title",
    "author__is_active",
    "author__display_name",
)


def public_thread_head(*, thread_id: int) -> dict[str, Any] | None:
    """What the public's page of a thread shows beyond its posts (``_HEAD_FIELDS``), in one
    statement; None if there is no such thread (the caller checks ``visibility``)."""
    with connection.cursor() as cursor:
        cursor.execute(_PUBLIC_THREAD_HEAD, {"thread": thread_id})
        row = cursor.fetchone()
    return None if row is None else dict(zip(_HEAD_FIELDS, row, strict=True))


def _bigint_array(ids: Collection[int]) -> str:
    return "{" + ",".join(str(int(n)) for n in ids) + "}"


def posts_page_state(
    *,
    thread_id: int,
    viewer: Any,
    post_ids: Collection[int] = (),
    author_ids: Collection[int] = (),
) -> PostsPageState | None:
    """The thread's version and visibility and the viewer's bits for the posts ``post_ids``
    by ``author_ids`` (a cached page's), in one query; None if there is no such thread."""
    params: dict[str, Any] = {"thread": thread_id}
    statement = _PUBLIC_STATE
    if _signed_in(viewer) and connection.vendor != "postgresql":
        return _viewer_page_state_portable(thread_id, viewer, post_ids, author_ids)
    if _signed_in(viewer):
        statement = _VIEWER_STATE
        # Arrays passed as their text ('{1,2}', cast in the statement): adapting a list of
        # ints costs psycopg more than the lookups themselves.
        params.update(
            viewer=viewer.pk,
            posts=_bigint_array(post_ids),
            authors=_bigint_array(author_ids),
        )
    with connection.cursor() as cursor:
        statement.execute(cursor, params)
        row = cursor.fetchone()
    if row is None:
        return None
    if len(row) == 3:
        return PostsPageState(version=row[0], visibility=row[1], author_id=row[2])
    return PostsPageState(
        version=row[0],
        visibility=row[1],
        author_id=row[2],
        held=row[3],
        liked=frozenset(row[4]),
        muted=frozenset(row[5]),
    )


def _viewer_page_state_portable(
    thread_id: int, viewer: Any, post_ids: Collection[int], author_ids: Collection[int]
) -> PostsPageState | None:
    """``posts_page_state`` for a signed-in viewer on a database without arrays (SQLite, the
    local demo): the same answer from four small queries."""
    thread = Thread.objects.filter(pk=thread_id).values("version", "visibility", "author_id")
    held = Post.objects.filter(thread_id=thread_id, author=viewer, status=Post.Status.PENDING)
    liked = Like.objects.filter(user=viewer, post_id__in=list(post_ids))
    muted = Mute.objects.filter(user=viewer, muted_id__in=list(author_ids))
    with transaction.atomic():  # one snapshot, as the one statement is
        found = thread.first()
        if found is None:
            return None
        return PostsPageState(
            **found,
            held=held.exists(),
            liked=frozenset(liked.values_list("post_id", flat=True)),
            muted=frozenset(muted.values_list("muted_id", flat=True)),
        )


def post_visible_get(*, post_id: int, viewer: Any) -> Post:
    """A post (with its thread) the viewer may see, by the rules above; 404 otherwise."""
    post = (
        Post.objects.select_related("thread")
        .defer("thread__search_vector")
        .filter(pk=post_id)
        .first()
    )
    if post is None or not (
        thread_visible_to(post.thread, viewer) and post_visible_to(post, viewer)
    ):
        raise Http404("No such post.")
    return post


def post_get(*, post_id: int) -> Post:
    """A post of a visible thread, whatever the post's own status (the caller checks it)."""
    post = (
        Post.objects.select_related("thread")
        .defer("thread__search_vector")
        .filter(pk=post_id)
        .first()
    )
    if post is None or post.thread.visibility != Thread.Visibility.VISIBLE:
        raise Http404("No such post.")
    return post


def post_revisions(*, post: Post) -> QuerySet[PostRevision]:
    """A post's earlier texts, newest first (the cursor pagination orders them)."""
    return PostRevision.objects.filter(post=post).select_related("editor")


# A moderator's decision about the recipient's own post, and the moderators' review notices:
# shown whatever the thread's visibility. Any other notice only while its post is public.
_SHOWN_ANYWAY = (
    Notification.Kind.POST_APPROVED,
    Notification.Kind.POST_REJECTED,
    Notification.Kind.POST_HIDDEN,
    Notification.Kind.REVIEW,
    Notification.Kind.URGENT_REVIEW,
)


def _notification_shown() -> Q:
    return Q(kind__in=_SHOWN_ANYWAY) | Q(
        thread__visibility=Thread.Visibility.VISIBLE,
        post__status__in=[Post.Status.VISIBLE, Post.Status.DELETED],
    )


def notification_list(*, user: User) -> QuerySet[Notification]:
    """The member's notifications, but none pointing at a post hidden from her since."""
    return (
        Notification.objects.filter(_notification_shown(), recipient=user)
        .select_related("thread", "post__author")
        .defer("thread__search_vector", "post__body", "post__body_html")
    )


def post_for_viewer(*, post_id: int, viewer: Any) -> Post:
    """One post as the viewer sees it, whatever its status (callers checked the access)."""
    posts = Post.objects.filter(pk=post_id).select_related("author")
    return _with_viewer_bits(posts, viewer).get()


def notification_unread_count(*, user: User) -> int:
    return Notification.objects.filter(
        _notification_shown(), recipient=user, read_at__isnull=True
    ).count()


def wrote_as_member(user: User) -> bool:
    """Whether posts show ``user``'s display name: anything she wrote as a member (an
    opening post too), whatever her role now."""
    return Post.objects.filter(author=user, author_role=Role.MEMBER).exists()


def unread_notifications_of() -> Subquery:
    """The unread count of the user row it is annotated on (``/api/v1/me/``)."""
    unread = (
        Notification.objects.filter(
            _notification_shown(), recipient=OuterRef("pk"), read_at__isnull=True
        )
        .order_by()
        .values("recipient")
        .annotate(n=Count("id"))
        .values("n")
    )
    return Subquery(unread)
