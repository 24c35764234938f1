"""What the forum holds about a member, for her export and her erasure (``accounts.privacy``).

Registered from ``ForumConfig.ready``. The export lists her threads, posts (held, hidden and
deleted ones too), what others' edits replaced in her posts, her likes, follows and
notifications: one query each, however many there are.

Erasure removes her likes (the counters recounted), follows and notifications, and keeps
the notifications she caused for others without her (``actor`` empty). Her posts stay,
shown as "Former member"; with ``delete_posts`` what she wrote as a member goes as a
deletion removes it: text replaced by a tombstone, earlier versions dropped, threads she
opened retitled "Deleted thread" and hidden when nobody else wrote in them, counters and
search vectors rebuilt. What she wrote under a staff title (a nurse answer, a moderator's
notice) stays: that voice was never personal.
"""

from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from rest_framework import serializers

from accounts.models import User
from accounts.privacy import audit_about, audit_redact, identifiers_of, redact_field
from accounts.roles import Role
from forum.models import Like, Notification, Post, PostRevision, Subscription, Thread
from forum.search import thread_reindex
from forum.services import TOMBSTONE_HTML, member_threads, thread_recount, threads_changed

DELETED_THREAD_TITLE = "Deleted thread"


# --- Export -------------------------------------------------------------------------------


class ThreadExportSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    category = serializers.CharField(source="category.slug")
    status = serializers.CharField()
    visibility = serializers.CharField()
    written_as = serializers.CharField(source="author_role")
    created_at = serializers.DateTimeField()


class PostExportSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    thread = serializers.IntegerField(source="thread_id")
    thread_title = serializers.CharField(source="thread.title")
    kind = serializers.CharField()
    status = serializers.CharField()
    body = serializers.CharField()
    written_as = serializers.CharField(source="author_role")
    title = serializers.CharField(source="author_title")
    like_count = serializers.IntegerField()
    sensitive = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    edited_at = serializers.DateTimeField(allow_null=True)


class RevisionExportSerializer(serializers.Serializer):
    """Her words an edit by someone else replaced: who edited shows as a role, never a name."""

    post = serializers.IntegerField(source="post_id")
    body = serializers.CharField()
    edited_by_role = serializers.CharField(source="editor_role")
    reason = serializers.CharField()
    created_at = serializers.DateTimeField()


class LikeExportSerializer(serializers.Serializer):
    post = serializers.IntegerField(source="post_id")
    thread = serializers.IntegerField(source="post.thread_id")
    created_at = serializers.DateTimeField()


class FollowExportSerializer(serializers.Serializer):
    thread = serializers.IntegerField(source="thread_id")
    thread_title = serializers.CharField(source="thread.title")
    created_at = serializers.DateTimeField()


class NotificationExportSerializer(serializers.Serializer):
    kind = serializers.CharField()
    thread = serializers.IntegerField(source="thread_id")
    thread_title = serializers.CharField(source="thread.title")
    post = serializers.IntegerField(source="post_id")
    note = serializers.CharField()
    created_at = serializers.DateTimeField()
    read_at = serializers.DateTimeField(allow_null=True)


def export_threads(user: User) -> QuerySet[Thread]:
    return Thread.objects.filter(author=user).select_related("category").order_by("pk")


def export_posts(user: User) -> QuerySet[Post]:
    return (
        Post.objects.filter(author=user)
        .select_related("thread")
        .only(*(f.name for f in Post._meta.concrete_fields), "thread__id", "thread__title")
        .order_by("pk")
    )


def export_revisions(user: User) -> QuerySet[PostRevision]:
    return PostRevision.objects.filter(post__author=user).order_by("post_id", "created_at", "pk")


def export_likes(user: User) -> QuerySet[Like]:
    return Like.objects.filter(user=user).select_related("post").order_by("pk")


def export_follows(user: User) -> QuerySet[Subscription]:
    return Subscription.objects.filter(user=user).select_related("thread").order_by("pk")


def export_notifications(user: User) -> QuerySet[Notification]:
    return Notification.objects.filter(recipient=user).select_related("thread").order_by("pk")


EXPORTS: dict[str, tuple[Any, type[serializers.Serializer]]] = {
    "threads": (export_threads, ThreadExportSerializer),
    "posts": (export_posts, PostExportSerializer),
    "post_revisions": (export_revisions, RevisionExportSerializer),
    "likes": (export_likes, LikeExportSerializer),
    "follows": (export_follows, FollowExportSerializer),
    "notifications": (export_notifications, NotificationExportSerializer),
}


# --- Erasure ------------------------------------------------------------------------------


def _own_words(user: User) -> Q:
    """What she wrote as herself (not under a staff title)."""
    return Q(author=user, author_role=Role.MEMBER)


def forum_erase(user: User, *, delete_posts: bool) -> None:
    """The forum's part of ``accounts.privacy.member_erase``; see the module docstring.

    Locks, in the forum's order: every thread concerned (in one id-ordered batch), then every
    post, then her row. Every thread showing her name moves on (``member_threads``): it
    shows "Former member" from now on.
    """
    liked = list(Like.objects.filter(user=user).values_list("post_id", "post__thread_id"))
    own_posts = (
        list(
            Post.objects.filter(_own_words(user))
            .exclude(kind=Post.Kind.SYSTEM)
            .values_list("pk", "thread_id")
        )
        if delete_posts
        else []
    )
    own_threads = (
        list(Thread.objects.filter(_own_words(user)).values_list("pk", flat=True))
        if delete_posts
        else []
    )
    thread_ids = sorted({t for _, t in liked} | {t for _, t in own_posts} | set(own_threads))
    post_ids = sorted({p for p, _ in liked} | {p for p, _ in own_posts})
    # Every thread concerned, locked once in id order: those showing her name and those
    # whose counters or posts change here (two batches would not be in one order).
    threads_changed(member_threads(user.pk) | Thread.objects.filter(pk__in=thread_ids))
    list(Post.objects.select_for_update(no_key=True).filter(pk__in=post_ids).order_by("pk"))
    User.objects.select_for_update().filter(pk=user.pk).first()

    words = identifiers_of(user)
    Like.objects.filter(user=user).delete()
    Subscription.objects.filter(user=user).delete()
    Notification.objects.filter(recipient=user).delete()
    Notification.objects.filter(actor=user).update(actor=None)
    redact_field(Notification.objects.all(), "note", words)
    redact_field(PostRevision.objects.all(), "reason", words)
    audit_redact(
        audit_about(Post, Post.objects.filter(author=user).values_list("pk", flat=True)), words
    )
    audit_redact(
        audit_about(Thread, Thread.objects.filter(author=user).values_list("pk", flat=True)), words
    )
    if delete_posts:
        _delete_own_words(
            post_ids=[p for p, _ in own_posts],
            thread_ids=own_threads,
            reindex={t for _, t in own_posts} | set(own_threads),
        )
    _recount_likes(post_ids)
    for thread_id in thread_ids:
        thread_recount(thread_id=thread_id)


def _delete_own_words(*, post_ids: list[int], thread_ids: list[int], reindex: set[int]) -> None:
    now = timezone.now()
    PostRevision.objects.filter(post_id__in=post_ids).delete()
    Like.objects.filter(post_id__in=post_ids).delete()
    Post.objects.filter(pk__in=post_ids).exclude(status=Post.Status.DELETED).update(
        status=Post.Status.DELETED, edited_at=now
    )
    Post.objects.filter(pk__in=post_ids).update(body="", body_html=TOMBSTONE_HTML, like_count=0)
    Thread.objects.filter(pk__in=thread_ids).update(title=DELETED_THREAD_TITLE)
    others_wrote = Post.objects.filter(thread=OuterRef("pk"), status=Post.Status.VISIBLE).exclude(
        kind=Post.Kind.SYSTEM
    )
    # A thread left with nothing anyone can read is hidden, as a moderator would hide it.
    Thread.objects.filter(pk__in=thread_ids).exclude(Exists(others_wrote)).update(
        visibility=Thread.Visibility.HIDDEN
    )
    for thread_id in sorted(reindex):
        thread_reindex(thread_id=thread_id)


def _recount_likes(post_ids: list[int]) -> None:
    likes = (
        Like.objects.filter(post=OuterRef("pk"))
        .order_by()
        .values("post")
        .annotate(n=Count("pk"))
        .values("n")
    )
    Post.objects.filter(pk__in=post_ids).update(like_count=Coalesce(Subquery(likes), Value(0)))
