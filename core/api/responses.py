"""Responses whose body was rendered earlier (a cached page), sent through DRF as any other."""

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
