"""The two pagination styles of API.md, shared by every list endpoint.

Thread lists are paged by number (with ``count``); posts in a thread by an opaque cursor
on ``(created_at, id)``, so page 1,000 costs what page 1 does. A page or cursor that is
not one is bad input (400 naming the parameter); a page past the last is 404.
"""

from typing import Any

from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import Cursor, CursorPagination, PageNumberPagination
from rest_framework.request import Request


class _Numbered(PageNumberPagination):
    page_size_query_param = "page_size"

    def get_page_number(self, request: Request, paginator: Any) -> Any:
        raw = request.query_params.get(self.page_query_param) or "1"
        if raw in self.last_page_strings:
            return paginator.num_pages
        if not (raw.isascii() and raw.isdigit()) or int(raw) < 1:
            raise ValidationError({self.page_query_param: ["A page is a whole number from 1."]})
        return int(raw)


class _Cursored(CursorPagination):
    page_size_query_param = "page_size"

    def decode_cursor(self, request: Request) -> Cursor | None:
        try:
            return super().decode_cursor(request)
        except NotFound as exc:
            raise ValidationError({self.cursor_query_param: ["Invalid cursor."]}) from exc


class ThreadPagination(_Numbered):
    page_size = 20
    max_page_size = 50


class PostCursorPagination(_Cursored):
    page_size = 20
    max_page_size = 50
    ordering = ("created_at", "id")


class NotificationCursorPagination(_Cursored):
    page_size = 30
    max_page_size = 100
    ordering = ("-created_at", "-id")


class RevisionCursorPagination(_Cursored):
    page_size = 20
    max_page_size = 50
    ordering = ("-created_at", "-id")


class MuteCursorPagination(_Cursored):
    page_size = 50
    max_page_size = 100
    ordering = ("-created_at", "-id")
