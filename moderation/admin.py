from django.contrib import admin
from django.http import HttpRequest

from moderation.models import ModerationAction


@admin.register(ModerationAction)
class ModerationActionAdmin(admin.ModelAdmin):
    """The audit log is read-only, even for superusers."""

    list_display = ("created_at", "kind", "actor", "target_user", "note")
    list_filter = ("kind",)
    search_fields = ("target_user__display_name", "actor__display_name", "note")
    raw_id_fields = ("actor", "target_user")
    list_select_related = ("actor", "target_user")
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
