"""The pages people read in a browser (``forum.pages``), served at the site's root."""

from django.urls import path

from forum import pages

app_name = "pages"

urlpatterns = [
    path("", pages.home, name="home"),
    path("c/<slug:slug>/", pages.category, name="category"),
    path("t/<int:thread_id>/", pages.thread, name="thread"),
]
