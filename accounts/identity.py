"""How a person appears to everyone else: ``{id, display_name, role, title}``, nothing more.

The identity is fixed when content is written and stored with it (``voice_of``): staff write
as their role, never as a person, so a nurse answer shows her title and no user id forever,
whatever happens to her account later; a member's content shows the member, by her live
display name ("Former member" once erased), even if she later joins the staff.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from accounts.roles import Role

if TYPE_CHECKING:  # the model builds its public title on this module
    from accounts.models import User

DEFAULT_NURSE_TITLE = "Breast Care Nurse"
FORMER_MEMBER = "Former member"
MODERATOR_TITLE = "Moderator"


@dataclass(frozen=True)
class Voice:
    """The role and public title a piece of content is written under (no title: a member)."""

    role: str
    title: str


def voice_of(user: "User") -> Voice:
    """The voice of what ``user`` writes now: a nurse under her title (the default title
    when hers is blank), a moderator as "Moderator", anyone else as herself.

    The one rule for a staff member's public title, wherever it shows.
    """
    if user.role == Role.NURSE:
        return Voice(Role.NURSE, user.title or DEFAULT_NURSE_TITLE)
    if user.role == Role.MODERATOR:
        return Voice(Role.MODERATOR, MODERATOR_TITLE)
    return Voice(Role.MEMBER, "")


def staff_public(*, role: str, title: str) -> dict[str, Any]:
    """Staff appear under their title only: no name, no user id, nothing to link."""
    return {"id": None, "display_name": title, "role": role, "title": title}


def author_public(
    user: "User | None", *, role: str = Role.MEMBER, title: str = ""
) -> dict[str, Any]:
    """The author of content written in ``role``/``title`` (as stored with the content)."""
    if role != Role.MEMBER:
        return staff_public(role=role, title=title)
    if user is None or not user.is_active:
        return {"id": None, "display_name": FORMER_MEMBER, "role": Role.MEMBER.value, "title": None}
    return {
        "id": user.pk,
        "display_name": user.display_name,
        "role": Role.MEMBER.value,
        "title": None,
    }


def published_author(content: Any, user_field: str = "author") -> dict[str, Any]:
    """The author of a thread or post (``user_field`` and its ``_role``/``_title`` beside it).

    Staff content never reads the user row, so it needs no join.
    """
    role = getattr(content, f"{user_field}_role")
    if role != Role.MEMBER:
        return staff_public(role=role, title=getattr(content, f"{user_field}_title"))
    return author_public(getattr(content, user_field))


def published_author_of_values(
    row: Mapping[str, Any], user_field: str = "author"
) -> dict[str, Any]:
    """``published_author`` of a value row (``QuerySet.values``) holding ``<user_field>_role``,
    ``_title``, ``_id``, ``__is_active`` and ``__display_name``: the same identity, no model."""
    role = row[f"{user_field}_role"]
    if role != Role.MEMBER:
        return staff_public(role=role, title=row[f"{user_field}_title"])
    if row[f"{user_field}_id"] is None or not row[f"{user_field}__is_active"]:
        return {"id": None, "display_name": FORMER_MEMBER, "role": Role.MEMBER.value, "title": None}
    return {
        "id": row[f"{user_field}_id"],
        "display_name": row[f"{user_field}__display_name"],
        "role": Role.MEMBER.value,
        "title": None,
    }
