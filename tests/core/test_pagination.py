"""The two pagination styles every list endpoint uses (API.md: results/next/previous)."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from core.api.pagination import PostCursorPagination, ThreadPagination
from core.models import AuditEntry

pytestmark = pytest.mark.django_db


@pytest.fixture
def rows():
    start = timezone.now() - timedelta(days=100)
    AuditEntry.objects.bulk_create(
        AuditEntry(
            action="role_changed", reason=f"row {n}", created_at=start + timedelta(minutes=n)
        )
        for n in range(95)
    )
    return AuditEntry.objects.all()


def _request(url: str) -> Request:
    return Request(APIRequestFactory().get(url))


def test_thread_pages_carry_a_count_and_links(rows):
    paginator = ThreadPagination()
    page = paginator.paginate_queryset(rows.order_by("id"), _request("/api/v1/threads/?page=2"))
    body = paginator.get_paginated_response([row.reason for row in page]).data
    assert body["count"] == 95
    assert body["results"] == [f"row {n}" for n in range(20, 40)]
    assert body["next"].endswith("page=3")
    assert body["previous"].endswith("/api/v1/threads/")


def test_page_size_is_capped(rows):
    paginator = ThreadPagination()
    page = paginator.paginate_queryset(rows.order_by("id"), _request("/x/?page_size=1000"))
    assert len(page) == 50


def _walk(url: str, rows) -> list[list[str]]:
    pages = []
    while url:
        paginator = PostCursorPagination()
        page = paginator.paginate_queryset(rows, _request(url))
        pages.append([row.reason for row in page])
        url = paginator.get_next_link()
    return pages


def test_cursor_pages_walk_oldest_first_without_gaps_or_repeats(rows):
    pages = _walk("/api/v1/threads/1/posts/", rows)
    assert [len(page) for page in pages] == [20, 20, 20, 20, 15]
    assert [note for page in pages for note in page] == [f"row {n}" for n in range(95)]


def test_a_late_cursor_page_costs_what_the_first_one_does(rows, django_assert_num_queries):
    paginator = PostCursorPagination()
    with django_assert_num_queries(1):
        paginator.paginate_queryset(rows, _request("/p/"))
    url = None
    for _ in range(4):
        url = paginator.get_next_link()
        paginator = PostCursorPagination()
        with django_assert_num_queries(1):
            paginator.paginate_queryset(rows, _request(url))
    assert paginator.get_next_link() is None


@pytest.mark.parametrize("page", ["0", "-1", "x", "1.5", "٣"])
def test_a_page_that_is_not_a_page_is_bad_input_naming_it(rows, page):
    from rest_framework.exceptions import ValidationError

    with pytest.raises(ValidationError) as caught:
        ThreadPagination().paginate_queryset(rows, _request(f"/api/v1/threads/?page={page}"))
    assert "page" in caught.value.detail


def test_a_page_past_the_last_is_not_found(rows):
    from rest_framework.exceptions import NotFound

    with pytest.raises(NotFound):
        ThreadPagination().paginate_queryset(rows, _request("/api/v1/threads/?page=99"))


def test_a_cursor_that_is_not_one_is_bad_input_naming_it(rows, api_client):
    from rest_framework.exceptions import ValidationError

    with pytest.raises(ValidationError) as caught:
        PostCursorPagination().paginate_queryset(
            rows.order_by("id"), _request("/api/v1/threads/1/posts/?cursor=not-a-cursor")
        )
    assert "cursor" in caught.value.detail
