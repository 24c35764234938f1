"""Rules every request and response pass, whichever app serves them.

``RequestGuardMiddleware`` stands before sessions and authentication: a body over the cap,
or a character PostgreSQL cannot store (NUL, half a UTF-16 surrogate pair) anywhere in the
path, a query parameter, a header, a form field or a JSON string, is answered here, before
anything reads it. Later checks come too late: the session token is looked up before any
view runs, and DRF's ``SlugRelatedField`` queries the category before any validator.

``PrivateResponseMiddleware`` keeps what is personal out of shared and browser caches.

Each area answers in its own documented shape: API.md's for ``/api/``, allauth's for
``/_allauth/``, Django's plain responses elsewhere (the admin).
"""

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.utils.cache import add_never_cache_headers

from accounts.middleware import headless_error, headless_error_response
from core.api.exceptions import error_body

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_PROBLEMS = {
    "\x00": ("Null characters are not allowed.", "null_characters_not_allowed"),
    "surrogate": (
        "Unpaired surrogate characters are not allowed.",
        "surrogate_characters_not_allowed",
    ),
}
_TOO_LARGE = "The request body is too large."
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _problem(value: str) -> tuple[str, str] | None:
    match = _UNSTORABLE.search(value)
    if match is None:
        return None
    return _PROBLEMS["\x00" if match.group() == "\x00" else "surrogate"]


def _json_strings(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """Every string in a parsed JSON document (keys too), with its dotted path."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            name = f"{path}.{key}" if path else key
            yield name, key
            yield from _json_strings(item, name)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _json_strings(item, f"{path}.{index}" if path else str(index))


def _json_body(request: HttpRequest) -> Iterator[tuple[str, str]]:
    body = request.body
    # Only a \u escape can put a NUL or a lone surrogate into a parsed string (raw control
    # bytes and invalid UTF-8 fail to parse): most bodies are never parsed twice.
    if b"\\u" not in body:
        return
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        return  # not JSON: the parser answers that
    yield from _json_strings(document)


def _inputs(request: HttpRequest) -> Iterator[tuple[str, str]]:
    yield "path", request.path_info
    for key, values in request.GET.lists():
        yield key, key
        for value in values:
            yield key, value
    for meta_key, value in request.META.items():
        if meta_key.startswith("HTTP_") and isinstance(value, str):
            yield meta_key[5:].replace("_", "-").title(), value
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    content_type = request.content_type or ""
    if content_type in _FORM_TYPES:
        # Read the raw body first: once request.POST has consumed the stream, request.body
        # is gone, and a view that reads it (allauth's) would fail with a 500.
        _ = request.body
        for key, values in request.POST.lists():
            yield key, key
            for value in values:
                yield key, value
    elif content_type == "application/json" or content_type.endswith("+json"):
        yield from _json_body(request)


def _declared_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0  # as Django reads it: no body


class RequestGuardMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        # Django reads no more than Content-Length, so the declared length is the body's.
        if limit is not None and _declared_length(request) > limit:
            return _too_large(request)
        problems: dict[str, tuple[str, str]] = {}
        for name, value in _inputs(request):
            if name not in problems and (problem := _problem(value)):
                problems[name] = problem
        if problems:
            return _invalid(request, problems)
        return self.get_response(request)


def _area(request: HttpRequest) -> str:
    path = request.path_info
    if path.startswith("/api/"):
        return "api"
    if path.startswith("/_allauth/"):
        return "allauth"
    return "site"


def _invalid(request: HttpRequest, problems: dict[str, tuple[str, str]]) -> HttpResponse:
    area = _area(request)
    if area == "api":
        fields = {name: [message] for name, (message, _code) in problems.items()}
        return JsonResponse(
            error_body("invalid", "The request has invalid fields.", fields), status=400
        )
    if area == "allauth":
        return headless_error_response(
            [headless_error(message, code, name) for name, (message, code) in problems.items()]
        )
    return HttpResponseBadRequest(next(iter(problems.values()))[0])


def _too_large(request: HttpRequest) -> HttpResponse:
    area = _area(request)
    if area == "api":
        return JsonResponse(error_body("too_large", _TOO_LARGE), status=413)
    if area == "allauth":
        return headless_error_response([headless_error(_TOO_LARGE, "too_large")], status=413)
    return HttpResponse(_TOO_LARGE, status=413, content_type="text/plain")


class PrivateResponseMiddleware:
    """No response to a signed-in request, nor any of allauth's, is stored by a cache.

    Signed-in responses carry personal data (``/api/v1/me/`` the email, thread lists the
    viewer's follows and likes); allauth's carry session tokens and addresses. A shared
    proxy or the browser's disk cache must keep none of them.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if (user is not None and user.is_authenticated) or _area(request) == "allauth":
            add_never_cache_headers(response)  # no-store, private (and Expires: now)
        return response
