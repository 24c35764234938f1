"""Request bodies are capped (DATA_UPLOAD_MAX_MEMORY_SIZE) before they are parsed.

Django enforces the cap only on ``request.body``; DRF streams the body to its parsers, so the
cap is enforced here, and answered with 413 ``too_large``.
"""

from typing import Any

from django.conf import settings
from rest_framework import parsers, status
from rest_framework.exceptions import APIException, ParseError


class RequestTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "too_large"


class _LimitedStream:
    def __init__(self, stream: Any, limit: int) -> None:
        self._stream = stream
        self._limit = limit
        self._read = 0

    def read(self, size: int = -1) -> bytes:
        chunk: bytes = self._stream.read(
            self._limit + 1 - self._read if size is None or size < 0 else size
        )
        self._read += len(chunk)
        if self._read > self._limit:
            raise RequestTooLarge()
        return chunk


class LimitedJSONParser(parsers.JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        request = (parser_context or {}).get("request")
        declared = int(request.META.get("CONTENT_LENGTH") or 0) if request is not None else 0
        if limit is not None and declared > limit:
            raise RequestTooLarge()
        if limit is not None:
            stream = _LimitedStream(stream, limit)
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise ParseError("JSON parse error - nested too deeply.") from exc
