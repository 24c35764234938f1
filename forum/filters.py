"""The thread list's filters, as a django-filter ``FilterSet``: invalid values are 400s.

Used through DRF's configured filter backend (``DEFAULT_FILTER_BACKENDS``), which turns an
invalid value into a field error of API.md's shape and documents the filters in OpenAPI.
"""

from typing import Any

import django_filters
from django import forms
from django.core.validators import validate_slug
from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from accounts.roles import Role
from forum.models import Thread
from forum.search import threads_matching

_BOOLEAN = (("true", "true"), ("false", "false"))


class _IdFilter(django_filters.NumberFilter):
    """A whole, positive database id (NumberFilter alone would take 1.5 or 1e40)."""

    field_class = forms.IntegerField


class ThreadFilter(django_filters.FilterSet):
    category = django_filters.CharFilter(
        field_name="category__slug", max_length=80, validators=[validate_slug]
    )
    status = django_filters.ChoiceFilter(choices=Thread.Status.choices)
    # "true" or "false"; anything else is an error (django-filter's BooleanFilter ignores it).
    unanswered = extend_schema_field(OpenApiTypes.BOOL)(
        django_filters.TypedChoiceFilter(
            choices=_BOOLEAN, coerce=lambda value: value == "true", method="filter_unanswered"
        )
    )
    author = extend_schema_field(OpenApiTypes.INT)(
        _IdFilter(min_value=1, max_value=2**63 - 1, method="filter_author")
    )
    q = django_filters.CharFilter(max_length=200, method="filter_search")

    class Meta:
        model = Thread
        fields = ("category", "status", "unanswered", "author", "q")

    def filter_unanswered(self, threads: QuerySet[Thread], name: str, value: bool) -> Any:
        """Ask Our Nurses questions still open and waiting for their first nurse answer."""
        if not value:
            return threads
        return threads.filter(
            category__nurse_answered=True,
            nurse_answered_at__isnull=True,
            status=Thread.Status.OPEN,
        )

    def filter_author(self, threads: QuerySet[Thread], name: str, value: int) -> Any:
        """What a member started as herself: never what she wrote under a staff title, so no
        id leads to a nurse's answers or notices."""
        return threads.filter(author_id=value, author_role=Role.MEMBER)

    def filter_search(self, threads: QuerySet[Thread], name: str, value: str) -> Any:
        """Full-text search; the best match comes first."""
        return threads_matching(threads, value)
