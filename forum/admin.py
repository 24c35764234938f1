from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from config.errors import ApplicationError
from forum.models import Category, Like, Post, Thread
from forum.services import thread_close, thread_reopen


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "position", "nurse_answered")
    list_editable = ("position", "nurse_answered")
    list_filter = ("nurse_answered",)
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    ordering = ("position", "id")


class PostInline(admin.TabularInline):
    """The thread's posts, read-only: edits and deletions go through the services."""

    model = Post
    fields = ("created_at", "author", "kind", "status", "like_count", "body")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True
    ordering = ("created_at", "id")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Post]:
        return super().get_queryset(request).select_related("author")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


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
        "reply_count",
        "like_count",
        "created_at",
        "last_activity_at",
        "nurse_answered_at",
        "status",
        "closed_at",
        "closed_by",
        "close_reason",
    )
    exclude = ("search_vector",)
    date_hierarchy = "last_activity_at"
    inlines = [PostInline]
    actions = ["close_threads", "reopen_threads"]

    def _apply(self, request: HttpRequest, queryset: QuerySet[Thread], service: Any) -> None:
        done = 0
        for thread in queryset:
            try:
                service(actor=request.user, thread=thread, reason="")
            except ApplicationError as exc:
                self.message_user(request, f"{thread}: {exc.detail}", messages.WARNING)
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
        return request.user.has_perm("forum.close_thread")


@admin.register(Post)
class PostAdmin(admin.ModelAdmin):
    list_display = ("id", "thread", "author", "kind", "status", "like_count", "created_at")
    list_filter = ("kind", "status", "thread__category")
    search_fields = ("body", "author__display_name", "thread__title")
    list_select_related = ("thread", "author")
    # Never a <select> of every thread or member: a forum has hundreds of thousands.
    raw_id_fields = ("thread", "author")
    readonly_fields = ("body_html", "like_count", "created_at", "edited_at")
    date_hierarchy = "created_at"


@admin.register(Like)
class LikeAdmin(admin.ModelAdmin):
    list_display = ("post", "user", "created_at")
    list_select_related = ("post", "user")
    raw_id_fields = ("post", "user")
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
