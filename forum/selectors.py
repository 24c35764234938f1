"""Reads shaped for their callers: related rows joined, per-viewer flags annotated, no N+1."""

from typing import Any

from django.db.models import BooleanField, Count, Exists, OuterRef, QuerySet, Subquery, Value
from django.http import Http404

from accounts.models import User
from accounts.roles import Role
from forum.models import Category, Like, Notification, Post, PostRevision, Subscription, Thread
from forum.search import threads_like_title

SIMILAR_LIMIT = 5


def category_list() -> QuerySet[Category]:
    return Category.objects.order_by("position", "id")


def _signed_in(viewer: Any) -> bool:
    return bool(viewer is not None and viewer.is_authenticated)


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


def thread_get(*, thread_id: int, viewer: Any) -> Thread:
    thread = _with_following(_visible_threads(), viewer).filter(pk=thread_id).first()
    if thread is None:
        raise Http404("No such thread.")
    return thread


def thread_similar(*, title: str) -> list[Thread]:
    """Up to five earlier threads a draft title resembles: "was this asked before?"."""
    return threads_like_title(_visible_threads(), title, limit=SIMILAR_LIMIT)


def post_page_queryset(*, thread: Thread, viewer: Any) -> QuerySet[Post]:
    """A thread's posts, oldest first, for cursor pagination; tombstones keep their place.

    Held and hidden posts are left out here; moderation shows them to those who may see them.
    """
    posts = (
        Post.objects.filter(thread=thread)
        .exclude(status__in=[Post.Status.PENDING, Post.Status.HIDDEN])
        .select_related("author")
    )
    if _signed_in(viewer):
        return posts.annotate(
            liked_by_me=Exists(Like.objects.filter(post=OuterRef("pk"), user=viewer))
        )
    return posts.annotate(liked_by_me=Value(False, output_field=BooleanField()))


def post_get(*, post_id: int) -> Post:
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


def notification_list(*, user: User) -> QuerySet[Notification]:
    return (
        Notification.objects.filter(recipient=user, thread__visibility=Thread.Visibility.VISIBLE)
        .select_related("thread", "post__author")
        .defer("thread__search_vector", "post__body", "post__body_html")
    )


def post_for_viewer(*, post_id: int, viewer: Any) -> Post:
    """One post as the viewer sees it, whatever its status (callers checked the access)."""
    posts = Post.objects.filter(pk=post_id).select_related("author")
    if _signed_in(viewer):
        liked = Exists(Like.objects.filter(post=OuterRef("pk"), user=viewer))
        return posts.annotate(liked_by_me=liked).get()
    return posts.annotate(liked_by_me=Value(False, output_field=BooleanField())).get()


def notification_unread_count(*, user: User) -> int:
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()


def wrote_as_member(user: User) -> bool:
    """Whether posts show ``user``'s display name: anything she wrote as a member (an
    opening post too), whatever her role now."""
    return Post.objects.filter(author=user, author_role=Role.MEMBER).exists()


def unread_notifications_of() -> Subquery:
    """The unread count of the user row it is annotated on (``/api/v1/me/``)."""
    unread = (
        Notification.objects.filter(recipient=OuterRef("pk"), read_at__isnull=True)
        .order_by()
        .values("recipient")
        .annotate(n=Count("id"))
        .values("n")
    )
    return Subquery(unread)
