"""API.md's error shape, produced in one place: ``{"code", "detail", "fields"}``."""

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.views import set_rollback

from core.api.parsers import RequestTooLarge
from core.errors import ApplicationError

logger = logging.getLogger(__name__)

# DRF's default codes renamed where API.md names them differently.
_CODES = {
    "authentication_failed": "not_authenticated",
    "not_found": "not_found",
    "permission_denied": "permission_denied",
    "throttled": "throttled",
}


def error_body(code: str, detail: str, fields: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"code": code, "detail": detail, "fields": fields or {}}


def _first_code(codes: Any) -> str:
    while isinstance(codes, list | dict):
        if not codes:
            return "error"
        codes = next(iter(codes.values())) if isinstance(codes, dict) else codes[0]
    return str(codes)


def _flatten(detail: Any, name: str = "") -> dict[str, list[str]]:
    """DRF's nested errors as API.md's flat ``{name: [messages]}``, nested names dotted.

    ``{"ids": {1: ["A valid integer is required."]}}`` is ``{"ids.1": [...]}``; a list of
    nested serializers' errors (``[{}, {"title": [...]}]``) is ``{"items.1.title": [...]}``.
    """
    if isinstance(detail, dict):
        fields: dict[str, list[str]] = {}
        for key, value in detail.items():
            fields.update(_flatten(value, f"{name}.{key}" if name else str(key)))
        return fields
    if isinstance(detail, list) and any(isinstance(item, dict | list) for item in detail):
        fields = {}
        for index, value in enumerate(detail):
            fields.update(_flatten(value, f"{name}.{index}" if name else str(index)))
        return fields
    messages = detail if isinstance(detail, list) else [detail]
    return {name or "non_field_errors": [str(message) for message in messages]}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    headers: dict[str, str] = {}

    if isinstance(exc, ApplicationError):
        set_rollback()
        return Response(error_body(exc.code, exc.detail), status=exc.status)

    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(as_serializer_error(exc))
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(*(exc.args[:1]))
    elif isinstance(exc, RequestDataTooBig):
        exc = RequestTooLarge()
    elif isinstance(exc, SuspiciousOperation):
        # e.g. too many form fields: the client's fault, said plainly.
        exc = exceptions.ParseError("The request could not be read.", code="bad_request")

    if not isinstance(exc, exceptions.APIException):
        return None  # a bug: Django's 500 handler logs it and answers in JSON for /api/

    set_rollback()
    status_code = exc.status_code
    if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        # DRF downgrades to 403 when the first authenticator sends no challenge header;
        # API.md promises 401 for "not signed in".
        status_code = status.HTTP_401_UNAUTHORIZED
    wait = getattr(exc, "wait", None)
    if isinstance(exc, exceptions.Throttled) and wait is not None:
        headers["Retry-After"] = str(int(wait))

    if isinstance(exc, exceptions.ValidationError):
        body = error_body("invalid", "The request has invalid fields.", _flatten(exc.detail))
    else:
        code = _first_code(exc.get_codes())
        body = error_body(_CODES.get(code, code), str(exc.detail))

    return Response(body, status=status_code, headers=headers)
