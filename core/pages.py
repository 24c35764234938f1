"""What every page shares, whichever app serves it."""

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from django.core.paginator import InvalidPage, Page
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from core.api.pagination import CountedPaginator

# What a page's context holds when it shows a refusal: a bound form's errors (Django forms),
# a moderation page's ``problems``, a members' page's ``error`` or throttle (``too_fast``).
FAILURE_KEYS = ("problems", "error", "too_fast")


def shows_failure(context: dict[str, Any]) -> bool:
    form = context.get("form")
    if form is not None and getattr(form, "errors", None):
        return True
    return any(context.get(key) for key in FAILURE_KEYS)


def render_page(
    request: HttpRequest,
    template: str,
    context: dict[str, Any],
    *,
    title: str,
    status: int = 200,
    failed: bool | None = None,
) -> HttpResponse:
    """A page in Haven's frame (``haven/base.html``) with its ``<title>``.

    A page showing what was wrong with a form says so first in its title: a screen reader
    reads the title first (WCAG 3.3.1). Unless told, whether it failed is read from the
    context (``shows_failure``).
    """
    if shows_failure(context) if failed is None else failed:
        title = f"Error: {title}"
    return render(request, template, {"title": title, **context}, status=status)


def query_string(params: Mapping[str, Any], **changes: Any) -> str:
    """A page's query string: ``params`` with ``changes`` applied, empty values left out
    ("?" alone when nothing is left, so a link to it still clears the query)."""
    merged = {key: value for key, value in {**params, **changes}.items() if value}
    return f"?{urlencode(merged)}" if merged else "?"


def page_or_404(items: Any, per_page: int, number: Any, *, count: int | None = None) -> Page:
    """Page ``number`` (the ``?page=`` value; the first page when empty) of ``items``, by
    ``per_page``; a number that is not a page of them is a 404. ``count``, when the caller
    knows how many ``items`` there are without counting them (a kept count), spares the
    ``COUNT``."""
    try:
        return CountedPaginator(items, per_page, count_of=lambda: count).page(number or 1)
    except InvalidPage as exc:
        raise Http404("No such page.") from exc
