"""The review queue's filters, as a django-filter ``FilterSet``: invalid values are 400s."""

from typing import Any

import django_filters
from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from moderation.models import ReviewItem
from moderation.queue import review_queue

_BOOLEAN = (("true", "true"), ("false", "false"))


class ReviewItemFilter(django_filters.FilterSet):
    """``status`` (default ``pending``) also decides the order: see ``review_queue``."""

    status = django_filters.ChoiceFilter(
        choices=ReviewItem.Status.choices, method="filter_status", empty_label=None
    )
    reason = django_filters.ChoiceFilter(
        choices=ReviewItem.Reason.choices,
        method="filter_reason",
        help_text="Items whose reasons include this one.",
    )
    urgent = extend_schema_field(OpenApiTypes.BOOL)(
        django_filters.TypedChoiceFilter(
            choices=_BOOLEAN, coerce=lambda value: value == "true", method="filter_urgent"
        )
    )

    class Meta:
        model = ReviewItem
        fields = ("status", "reason", "urgent")

    def filter_queryset(self, queryset: QuerySet[ReviewItem]) -> Any:
        """The status (pending unless given) picks the queue and its order; then the rest."""
        status = self.form.cleaned_data.get("status") or ReviewItem.Status.PENDING
        return super().filter_queryset(review_queue(status=status))

    def filter_status(self, items: QuerySet[ReviewItem], name: str, value: str) -> Any:
        return items  # applied first, by filter_queryset

    def filter_reason(self, items: QuerySet[ReviewItem], name: str, value: str) -> Any:
        return items.filter(reasons__has_key=value)

    def filter_urgent(self, items: QuerySet[ReviewItem], name: str, value: bool) -> Any:
        return items.filter(urgent=value)
