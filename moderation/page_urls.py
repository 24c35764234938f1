"""Reporting a post, and the staff's pages (``moderation.pages``)."""

from django.urls import path

from moderation import pages

app_name = "mod"

urlpatterns = [
    path("p/<int:post_id>/report/", pages.report, name="report"),
    path("staff/queue/", pages.queue, name="queue"),
    path("staff/queue/<int:item_id>/", pages.item, name="item"),
    path("staff/questions/", pages.questions, name="questions"),
    path("staff/t/<int:thread_id>/answer/", pages.answer, name="answer"),
    path("staff/t/<int:thread_id>/close/", pages.close, name="close"),
    path("staff/t/<int:thread_id>/reopen/", pages.reopen, name="reopen"),
    path("staff/p/<int:post_id>/hide/", pages.hide, name="hide"),
    path("staff/p/<int:post_id>/restore/", pages.restore, name="restore"),
]
