"""The author field of every API shape; what it shows is ``accounts.identity``'s rule."""

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.identity import published_author
from accounts.roles import Role


@extend_schema_field(
    {
        "type": "object",
        "properties": {
            "id": {"type": "integer", "nullable": True},
            "display_name": {"type": "string"},
            "role": {"type": "string", "enum": Role.values},
            "title": {"type": "string", "nullable": True},
        },
        "required": ["id", "display_name", "role", "title"],
    }
)
class AuthorField(serializers.Field):
    """Read-only: the author of a piece of content as it was published.

    Its source is the content itself (a thread or a post, by default the object being
    serialised); ``user_field`` names the content's user, beside which ``<user_field>_role``
    and ``<user_field>_title`` hold the identity fixed when it was written. Member content
    needs that user fetched with ``select_related``.
    """

    def __init__(self, *, user_field: str = "author", **kwargs: Any) -> None:
        kwargs["read_only"] = True
        kwargs.setdefault("source", "*")
        self.user_field = user_field
        super().__init__(**kwargs)

    def to_representation(self, content: Any) -> dict[str, Any]:
        return published_author(content, self.user_field)
