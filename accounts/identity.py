"""How a person appears to everyone else: ``{id, display_name, role, title}``, nothing more."""

from typing import Any

from accounts.models import User
from accounts.roles import Role

FORMER_MEMBER = "Former member"


def author_public(user: User | None) -> dict[str, Any]:
    """A nurse appears under her public title only: never her name, never an email."""
    if user is None or not user.is_active:
        return {"id": None, "display_name": FORMER_MEMBER, "role": Role.MEMBER.value, "title": None}
    name = user.title if user.role == Role.NURSE else user.display_name
    return {"id": user.pk, "display_name": name, "role": user.role, "title": user.public_title}
