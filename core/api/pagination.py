"""The two pagination styles of API.md, shared by every list endpoint.

Thread lists are paged by number (with ``count``); posts in a thread by an opaque cursor
on ``(created_at, id)``, so page 1,000 costs what page 1 does.
"""

from rest_framework.pagination import CursorPagination, PageNumberPagination


class ThreadPagination(PageNumberPagination):
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 50


class PostCursorPagination(CursorPagination):
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 50
    ordering = ("created_at", "id")


class NotificationCursorPagination(CursorPagination):
    page_size = 30
    page_size_query_param = "page_size"
    max_page_size = 100
    ordering = ("-created_at", "-id")


class RevisionCursorPagination(CursorPagination):
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 50
    ordering = ("-created_at", "-id")
