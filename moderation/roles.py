"""What each role may do: the permissions of the role groups ``accounts.roles`` names.

The permissions are declared on the models that own them (forum's Category, this app's
RolePermission); a data migration of this app, the top of the layers, gives each group
exactly its list, and is run again whenever the list changes.
"""

from typing import Any

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

    A permission whose model a later migration creates is skipped: that migration runs
    this again, so the last one leaves every group with exactly its list.
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
            wanted += permission_model.objects.filter(
                content_type__app_label=app_label, codename=codename
            )
        group.permissions.set(wanted)
