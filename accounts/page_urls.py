"""A member's own pages (``accounts.pages``), beside allauth's under ``/account/``."""

from django.urls import path

from accounts import pages

app_name = "me"

urlpatterns = [
    path("settings/", pages.settings_page, name="settings"),
    path("export/", pages.export, name="export"),
    path("erase/", pages.erase, name="erase"),
]
