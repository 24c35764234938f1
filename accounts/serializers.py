"""The author field of every API shape; what it shows is ``accounts.identity``'s rule."""

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.identity import author_public
from accounts.roles import Role

_FORMER = object()


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
    """Read-only; the related user must be fetched with ``select_related``.

    With ``allow_null`` a missing user is ``null`` (``closed_by`` of an open thread);
    without, it is the "Former member" of an erased account.
    """

    def __init__(self, **kwargs: Any) -> None:
        kwargs["read_only"] = True
        super().__init__(**kwargs)

    def get_attribute(self, instance: Any) -> Any:
        value = super().get_attribute(instance)
        return _FORMER if value is None and not self.allow_null else value

    def to_representation(self, value: Any) -> dict[str, Any]:
        return author_public(None if value is _FORMER else value)
