"""The one exception type services raise for a refusal that carries its own code.

Services raise ``django.core.exceptions.ValidationError`` for bad input,
``PermissionDenied`` for a plain refusal, and ``ApplicationError`` when the client needs a
machine-readable reason (``thread_closed``, ``not_nurse``, ``already_answered``).
``core.api.exceptions.exception_handler`` turns all of them into API.md's error shape.
"""

from http import HTTPStatus


class ApplicationError(Exception):
    status = HTTPStatus.BAD_REQUEST

    def __init__(self, code: str, detail: str, *, status: int | None = None) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        if status is not None:
            self.status = HTTPStatus(status)


class BadRequest(ApplicationError):
    """400 with a code of its own, for input that is well formed but refused
    (``blocked_content``): unlike a field error it names no field."""

    status = HTTPStatus.BAD_REQUEST


class Forbidden(ApplicationError):
    """403: the user may not do this (``thread_closed``, ``not_nurse``, ``suspended``)."""

    status = HTTPStatus.FORBIDDEN


class Conflict(ApplicationError):
    """409: the state changed under the request (``already_answered``)."""

    status = HTTPStatus.CONFLICT
