"""Roles are Django groups with named permissions; ``User.role`` says which one a user holds.

``User.role`` is the one field read on hot paths (an author's badge on every post); the
group membership that ``has_perm`` checks is kept in step with it by ``user_set_role``.
Which permissions each group holds is the top app's policy (``moderation/roles.py``): the
permissions belong to models above this app.
"""

from django.db import models


class Role(models.TextChoices):
    MEMBER = "member", "Member"
    NURSE = "nurse", "Nurse"
    MODERATOR = "moderator", "Moderator"


ROLE_GROUPS: dict[str, str] = {
    Role.NURSE: "Nurses",
    Role.MODERATOR: "Moderators",
}
