"""The two pagination styles of API.md, shared by every list endpoint.

Thread lists are paged by number (with ``count``); posts in a thread by an opaque cursor
on ``(created_at, id)``, so page 1,000 costs what page 1 does. A page or cursor that is
not one is bad input (400 naming the parameter); a page past the last is 404.
"""

from collections.abc import Callable
from typing import Any

from django.core.paginator import Paginator
from django.db.models import Count, Max, Model, Q, QuerySet
from django.utils.functional import cached_property
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import Cursor, CursorPagination, PageNumberPagination
from rest_framework.request import Request


def canonical_number(raw: str | None, *, at_most: int | None = None) -> int | None:
    """The whole number from 1 (at most ``at_most``) that ``raw`` spells as Python writes it
    (``"7"``; never ``"07"``, ``"+7"`` or an Arabic-Indic seven), or None: the spelling a
    page's links repeat, so a cache keyed by its query holds one copy of the page."""
    if raw is None or not (0 < len(raw) <= 18 and raw.isascii() and raw.isdigit()):
        return None
    number = int(raw)
    if str(number) != raw or number < 1 or (at_most is not None and number > at_most):
        return None
    return number


class _Numbered(PageNumberPagination):
    page_size_query_param = "page_size"

    def get_page_number(self, request: Request, paginator: Any) -> Any:
        number = self.page_number_asked(request)
        return paginator.num_pages if number is None else number

    def page_number_asked(self, request: Request) -> int | None:
        """The page number the request asks for, None for the last page (``last``); a
        400 naming the parameter for anything else that is not a whole number from 1."""
        raw = request.query_params.get(self.page_query_param) or "1"
        if raw in self.last_page_strings:
            return None
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


class CountedPaginator(Paginator):
    """Django's paginator, told its count by ``count_of`` when the caller knows it without
    counting the rows (a count kept up to date by the writes); ``count_of`` None, or its
    answer None, and it counts them as Django's does. Asked when the count is first needed,
    as Django's ``COUNT`` is."""

    def __init__(
        self,
        object_list: Any,
        per_page: int,
        *,
        count_of: Callable[[], int | None] | None = None,
        **options: Any,
    ) -> None:
        super().__init__(object_list, per_page, **options)
        self.count_of = count_of

    @cached_property
    def count(self) -> int:
        known = None if self.count_of is None else self.count_of()
        return super().count if known is None else known


class ThreadPagination(_Numbered):
    page_size = 20
    max_page_size = 50
    # What the list's count is without counting, if the view knows (``forum.thread_lists``).
    count_of: Callable[[], int | None] | None = None

    def django_paginator_class(self, object_list: Any, per_page: int) -> Paginator:  # type: ignore[override]
        return CountedPaginator(object_list, per_page, count_of=self.count_of)


class PostCursorPagination(_Cursored):
    page_size = 20
    max_page_size = 50
    ordering = ("created_at", "id")

    def query_of_page_holding(self, queryset: QuerySet[Any], row: Model) -> str:
        """The query string (``?cursor=…``) of the page that holds ``row``, one of
        ``queryset``'s rows, as the "next" links page it from the start by ``page_size``
        rows; "" for the first page.

        A cursor is a position (rows after this ``created_at``) and an offset (rows to skip
        after it). The page starts at row ``start``; every row before the earliest one
        sharing the first row's ``created_at`` is left out by the position, the rest by the
        offset, so rows written in the same microsecond never shift a page.
        """
        field, _ = self.ordering
        when = getattr(row, field)
        before = queryset.filter(Q(**{f"{field}__lt": when}) | Q(**{field: when, "pk__lt": row.pk}))
        start = before.count() // self.page_size * self.page_size
        if start == 0:
            return ""
        first = queryset.order_by(*self.ordering).values_list(field, flat=True)[start]
        earlier = queryset.filter(**{f"{field}__lt": first}).aggregate(
            n=Count("pk"), last=Max(field)
        )
        position = None if earlier["last"] is None else str(earlier["last"])
        self.base_url = ""
        cursor = Cursor(offset=start - earlier["n"], reverse=False, position=position)  # type: ignore[arg-type]
        return str(self.encode_cursor(cursor))


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
