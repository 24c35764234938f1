from django.contrib import admin

from forum.models import Category


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "position", "nurse_answered")
    list_editable = ("position", "nurse_answered")
    list_filter = ("nurse_answered",)
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    ordering = ("position", "id")
