from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html

from core.admin import ReadOnlyAdmin, ReadOnlyInline, ReasonForm, ask_then_apply
from forum.models import Category, Like, Post, PostRevision, Thread
from forum.services import (
    category_threads_changed,
    may_close,
    post_hide,
    post_restore,
    thread_changed,
    thread_close,
    thread_move,
    thread_recount,
    thread_reopen,
    threads_changed,
)

MODERATE_PERMISSION = "forum.moderate_post"
MOVE_PERMISSION = "forum.move_thread"


class MoveForm(ReasonForm):
    category = forms.ModelChoiceField(
        queryset=Category.objects.order_by("position", "id"), label="Move to"
    )


class HideForm(ReasonForm):
    note = forms.CharField(
        max_length=1000,
        required=False,
        widget=forms.Textarea({"rows": 3}),
        label="Note to the author",
        help_text="The author is told the post was hidden, with this note.",
    )


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "position", "nurse_answered")
    list_editable = ("position", "nurse_answered")
    list_filter = ("nurse_answered",)
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    ordering = ("position", "id")

    def save_model(self, request: HttpRequest, obj: Category, form: Any, change: bool) -> None:
        """Its name and slug show on every page of its threads: they move on first (the
        threads' rows before the category's, as a move takes them)."""
        if not change:
            super().save_model(request, obj, form, change)
            return
        if {"name", "slug", "description", "nurse_answered"} & set(form.changed_data):
            category_threads_changed(obj.pk)
        # Only the fields typed in: the row as loaded would write back a thread count that a
        # fold of the count log (``forum.services.thread_counts_fold``) moved meanwhile.
        if form.changed_data:
            obj.save(update_fields=form.changed_data)


@admin.register(Thread)
class ThreadAdmin(admin.ModelAdmin):
    list_display = (
        "title",
        "category",
        "author",
        "status",
        "visibility",
        "reply_count",
        "like_count",
        "last_activity_at",
        "nurse_answered_at",
    )
    list_filter = ("category", "status", "visibility")
    search_fields = ("title", "author__display_name")
    list_select_related = ("category", "author")
    # Category, visibility and status change only through the audited services (actions);
    # who wrote it is fixed with the content (accounts.identity).
    readonly_fields = (
        "author",
        "category",
        "visibility",
        "opening_post",
        "reply_count",
        "like_count",
        "created_at",
        "last_activity_at",
        "nurse_answered_at",
        "status",
        "closed_at",
        "author_role",
        "author_title",
        "closed_by",
        "closed_by_role",
        "closed_by_title",
        "close_reason",
    )
    exclude = ("search_vector",)
    date_hierarchy = "last_activity_at"
    actions = ["close_threads", "reopen_threads", "move_threads"]

    @admin.display(description="opening post")
    def opening_post(self, obj: Thread) -> str:
        """The question itself, and a link to all its posts (never thousands of rows here)."""
        opening = Post.objects.filter(thread=obj).order_by("created_at", "id").first()
        posts = reverse("admin:forum_post_changelist") + f"?thread__id__exact={obj.pk}"
        return format_html(
            '<div style="white-space: pre-wrap">{}</div><p><a href="{}">All {} posts</a></p>',
            opening.body if opening else "",
            posts,
            obj.reply_count + 1,
        )

    @admin.action(description="Close…", permissions=["close"])
    def close_threads(
        self, request: HttpRequest, queryset: QuerySet[Thread]
    ) -> TemplateResponse | None:
        return ask_then_apply(
            self,
            request,
            queryset,
            title="Close",
            explanation="Closed threads stay readable; nobody replies. The reason is the notice.",
            apply=thread_close,
            target="thread",
        )

    @admin.action(description="Reopen…", permissions=["close"])
    def reopen_threads(
        self, request: HttpRequest, queryset: QuerySet[Thread]
    ) -> TemplateResponse | None:
        return ask_then_apply(
            self,
            request,
            queryset,
            title="Reopen",
            explanation="Members can reply to these threads again.",
            apply=thread_reopen,
            target="thread",
        )

    @admin.action(description="Move to another category…", permissions=["move"])
    def move_threads(
        self, request: HttpRequest, queryset: QuerySet[Thread]
    ) -> TemplateResponse | None:
        return ask_then_apply(
            self,
            request,
            queryset,
            title="Move",
            explanation="The threads move, with all their posts, to the category chosen.",
            form_class=MoveForm,
            apply=thread_move,
            target="thread",
        )

    def save_model(self, request: HttpRequest, obj: Thread, form: Any, change: bool) -> None:
        """Only the fields typed in are written, and the version moves on from the row as it
        is now: the row as loaded would write back counters and a version that a reply
        committed meanwhile has moved (a version used twice, a stale page served)."""
        if not change:
            super().save_model(request, obj, form, change)
            return
        if form.changed_data:
            thread_changed(obj.pk)  # locks the row first; a title shows on its pages and rows
            obj.save(update_fields=form.changed_data)

    # Deleting a thread needs no version: its pages answer 404 and the lists, keyed by the
    # ids they hold, lose it (tests/forum/test_invalidation.py); its category's count follows
    # by the trigger on the threads table (``forum.models.ThreadCountChange``).

    def has_close_permission(self, request: HttpRequest) -> bool:
        # The services' own rule: the action is offered only to those who may close.
        return may_close(request.user)  # type: ignore[arg-type]

    def has_move_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(MOVE_PERMISSION)

    def has_add_permission(self, request: HttpRequest) -> bool:
        # A thread starts with its opening post, through the service (the API).
        return False


class PostRevisionInline(ReadOnlyInline):
    """What the post said before each edit by someone else, or a correction: read-only."""

    model = PostRevision
    fields = ("created_at", "editor", "editor_title", "reason", "body")
    ordering = ("-created_at", "-id")


@admin.register(Post)
class PostAdmin(admin.ModelAdmin):
    list_display = ("id", "thread", "author", "kind", "status", "like_count", "created_at")
    list_filter = ("kind", "status", "thread__category")
    search_fields = ("body", "author__display_name", "thread__title")
    list_select_related = ("thread", "author")
    # Never a <select> of every thread or member: a forum has hundreds of thousands.
    raw_id_fields = ("thread", "author")
    # Text, status and counters change through the services (rendering, counters, search).
    readonly_fields = (
        "thread",
        "author",
        "author_role",
        "author_title",
        "kind",
        "status",
        "body",
        "body_html",
        "like_count",
        "sensitive",
        "support_kind",
        "created_at",
        "edited_at",
    )
    inlines = [PostRevisionInline]
    actions = ["hide_posts", "restore_posts"]

    @admin.action(description="Hide…", permissions=["moderate"])
    def hide_posts(self, request: HttpRequest, queryset: QuerySet[Post]) -> TemplateResponse | None:
        return ask_then_apply(
            self,
            request,
            queryset,
            title="Hide",
            explanation="Hidden posts are seen by moderators only; a hidden opening post hides "
            "its thread.",
            form_class=HideForm,
            apply=post_hide,
            target="post",
        )

    @admin.action(description="Restore…", permissions=["moderate"])
    def restore_posts(
        self, request: HttpRequest, queryset: QuerySet[Post]
    ) -> TemplateResponse | None:
        return ask_then_apply(
            self,
            request,
            queryset,
            title="Restore",
            explanation="These hidden posts (and threads they open) are shown again.",
            apply=post_restore,
            target="post",
        )

    def save_model(self, request: HttpRequest, obj: Post, form: Any, change: bool) -> None:
        """Only the fields typed in are written (never a like count loaded before a like
        committed); the thread's row first (the lock order), its version moving on."""
        if not change:
            super().save_model(request, obj, form, change)
            return
        if form.changed_data:
            thread_changed(obj.thread_id)
            obj.save(update_fields=form.changed_data)

    def delete_model(self, request: HttpRequest, obj: Post) -> None:
        """Its thread's row first (the lock order): the version moves on, the counters are
        recounted without it."""
        self.delete_queryset(request, Post.objects.filter(pk=obj.pk))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Post]) -> None:
        """The posts' threads are locked and moved on first (in id order), then the posts go
        and each thread's counters are recounted."""
        thread_ids = sorted(set(queryset.values_list("thread_id", flat=True)))
        threads_changed(Thread.objects.filter(pk__in=thread_ids))
        super().delete_queryset(request, queryset)
        for thread_id in thread_ids:
            thread_recount(thread_id=thread_id)

    def has_moderate_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(MODERATE_PERMISSION)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    date_hierarchy = "created_at"


@admin.register(Like)
class LikeAdmin(ReadOnlyAdmin):
    list_display = ("post", "user", "created_at")
    list_select_related = ("post", "user")
    raw_id_fields = ("post", "user")
    date_hierarchy = "created_at"
