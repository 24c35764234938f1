"""The pages people use in a browser (``forum.pages`` to read, ``forum.page_actions`` to
write), served at the site's root."""

from django.urls import path

from forum import page_actions, pages

app_name = "pages"

urlpatterns = [
    path("", pages.home, name="home"),
    path("c/<slug:slug>/", pages.category, name="category"),
    path("c/<slug:slug>/new/", page_actions.thread_new, name="thread_new"),
    path("t/<int:thread_id>/", pages.thread, name="thread"),
    path("t/<int:thread_id>/reply/", page_actions.reply, name="reply"),
    path("t/<int:thread_id>/follow/", page_actions.follow, name="follow"),
    path("p/<int:post_id>/", page_actions.post_permalink, name="post"),
    path("p/<int:post_id>/edit/", page_actions.post_edit, name="post_edit"),
    path("p/<int:post_id>/delete/", page_actions.post_delete, name="post_delete"),
    path("p/<int:post_id>/like/", page_actions.like, name="like"),
    path("suggest/", page_actions.suggest, name="suggest"),
    path("notifications/", page_actions.notifications, name="notifications"),
    path("search/", page_actions.search, name="search"),
]
