"""Roles are Django groups with named permissions; ``User.role`` says which one a user holds.

``User.role`` is the one field read on hot paths (an author's badge on every post); the
group membership that ``has_perm`` checks is kept in step with it by ``user_set_role``.
"""

from typing import Any

from django.db import models


class Role(models.TextChoices):
    MEMBER = "member", "Member"
    NURSE = "nurse", "Nurse"
    MODERATOR = "moderator", "Moderator"


ROLE_GROUPS: dict[str, str] = {
    Role.NURSE: "Nurses",
    Role.MODERATOR: "Moderators",
}

# Permissions are declared in the owning model's Meta; this maps them onto the groups.
GROUP_PERMISSIONS: dict[str, tuple[str, ...]] = {
    "Nurses": (
        "moderation.answer_as_nurse",
        "moderation.view_nurse_queue",
        "forum.close_thread",
        # The "Ask Our Nurses" page of the admin, for nurses who are staff.
        "moderation.view_unansweredquestion",
        "moderation.change_unansweredquestion",
    ),
    "Moderators": (
        "moderation.review",
        "moderation.suspend_member",
        "forum.close_thread",
        "forum.move_thread",
        "forum.moderate_post",
    ),
}


def sync_role_groups(apps: Any) -> None:
    """Create the role groups and give each exactly its permissions (used by migrations).

    Re-run by a later migration whenever ``GROUP_PERMISSIONS`` changes.
    """
    from django.contrib.auth.management import create_permissions

    # Meta permissions are normally created after the last migration (post_migrate);
    # create them now so the groups can hold them on a fresh database.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None

    group_model = apps.get_model("auth", "Group")
    permission_model = apps.get_model("auth", "Permission")
    for group_name, perms in GROUP_PERMISSIONS.items():
        group, _ = group_model.objects.get_or_create(name=group_name)
        wanted = []
        for perm in perms:
            app_label, codename = perm.split(".")
            wanted.append(
                permission_model.objects.get(content_type__app_label=app_label, codename=codename)
            )
        group.permissions.set(wanted)
