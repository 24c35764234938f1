"""Responses whose body was rendered earlier (a cached page), sent through DRF as any other,
and the splice that lays a viewer's own fields over such a body without parsing it."""

import re
from collections.abc import Iterable, Sequence
from typing import Any

from rest_framework.response import Response


class RenderedResponse(Response):
    """A body already rendered by the request's negotiated renderer: DRF adds its headers
    (``Content-Type`` as the renderer names it, ``Vary``, ``Allow``) as it does for a
    response it renders itself, so the two are byte for byte the same."""

    def __init__(self, content: bytes, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.rendered = content

    @property
    def rendered_content(self) -> bytes:  # type: ignore[override]
        renderer = self.accepted_renderer
        charset = renderer.charset
        self["Content-Type"] = self.content_type or (
            f"{renderer.media_type}; charset={charset}" if charset else renderer.media_type
        )
        return self.rendered


def splice(body: bytes, found: Sequence[re.Match[bytes]], values: Iterable[bytes]) -> bytes:
    """``body`` with each match of ``found`` (matches in ``body``, in order, not overlapping)
    replaced by its value, in one join."""
    pieces: list[bytes] = []
    start = 0
    for match, value in zip(found, values, strict=True):
        pieces += [body[start : match.start()], value]
        start = match.end()
    pieces.append(body[start:])
    return b"".join(pieces)
