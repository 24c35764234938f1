"""What every page shares, whichever app serves it."""

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def render_page(
    request: HttpRequest,
    template: str,
    context: dict[str, Any],
    *,
    title: str,
    status: int = 200,
    failed: bool = False,
) -> HttpResponse:
    """A page in Haven's frame (``haven/base.html``) with its ``<title>``.

    A page showing what was wrong with a form says so first in its title: a screen reader
    reads the title first (WCAG 3.3.1).
    """
    if failed:
        title = f"Error: {title}"
    return render(request, template, {"title": title, **context}, status=status)
