from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import Http404, HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from core.admin import ReadOnlyAdmin
from core.errors import ApplicationError
from forum.models import Category, Like, Post, PostRevision, Thread
from forum.services import may_close, thread_close, thread_reopen


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "position", "nurse_answered")
    list_editable = ("position", "nurse_answered")
    list_filter = ("nurse_answered",)
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    ordering = ("position", "id")


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
    raw_id_fields = ("author", "closed_by")
    readonly_fields = (
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
    actions = ["close_threads", "reopen_threads"]

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

    def _apply(self, request: HttpRequest, queryset: QuerySet[Thread], service: Any) -> None:
        done = 0
        for thread in queryset:
            try:
                service(actor=request.user, thread=thread, reason="")
            except ApplicationError as exc:
                self.message_user(request, f"{thread}: {exc.detail}", messages.WARNING)
            except Http404:
                self.message_user(request, f"{thread}: not visible", messages.WARNING)
            else:
                done += 1
        self.message_user(request, f"{done} thread(s) updated.", messages.SUCCESS)

    @admin.action(description="Close the selected threads", permissions=["close"])
    def close_threads(self, request: HttpRequest, queryset: QuerySet[Thread]) -> None:
        self._apply(request, queryset, thread_close)

    @admin.action(description="Reopen the selected threads", permissions=["close"])
    def reopen_threads(self, request: HttpRequest, queryset: QuerySet[Thread]) -> None:
        self._apply(request, queryset, thread_reopen)

    def has_close_permission(self, request: HttpRequest) -> bool:
        # The services' own rule: the action is offered only to those who may close.
        return may_close(request.user)  # type: ignore[arg-type]


class PostRevisionInline(admin.TabularInline):
    """What the post said before each edit by someone else, or a correction: read-only."""

    model = PostRevision
    fields = ("created_at", "editor", "editor_title", "reason", "body")
    readonly_fields = fields
    ordering = ("-created_at", "-id")
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


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
        "created_at",
        "edited_at",
    )

    inlines = [PostRevisionInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    date_hierarchy = "created_at"


@admin.register(Like)
class LikeAdmin(ReadOnlyAdmin):
    list_display = ("post", "user", "created_at")
    list_select_related = ("post", "user")
    raw_id_fields = ("post", "user")
    date_hierarchy = "created_at"
