from typing import Any

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db.models import OuterRef, QuerySet, Subquery
from django.http import HttpRequest

from core.models import AuditEntry


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records only the services write: never added, edited or deleted here, even by
    superusers."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    """The audit log is read-only, even for superusers."""

    list_display = ("created_at", "action", "actor", "target_type", "target_id", "reason")
    list_filter = ("action", "target_type")
    search_fields = ("reason", "action")
    list_select_related = ("target_type",)
    date_hierarchy = "created_at"
    fields = ("created_at", "action", "actor", "target_type", "target_id", "reason", "data")
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[AuditEntry]:
        users = get_user_model().objects.filter(pk=OuterRef("actor_id"))
        return (
            super()
            .get_queryset(request)
            .annotate(actor_name=Subquery(users.values("display_name")[:1]))
        )

    @admin.display(description="actor")
    def actor(self, obj: AuditEntry) -> str:
        if obj.actor_id is None:
            return "system"
        name = getattr(obj, "actor_name", None)
        return f"{name} (#{obj.actor_id})" if name else f"#{obj.actor_id}"
