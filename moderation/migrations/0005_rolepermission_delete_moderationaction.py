"""The audit log moves to core (every app records there); the role permissions that hung
on ModerationAction move to RolePermission; the role groups are synced here, at the top of
the layers, where every permission they hold is known."""

from django.db import migrations, models

from moderation.roles import sync_role_groups

ROLE_CODENAMES = ("answer_as_nurse", "view_nurse_queue", "review", "suspend_member")


def move_permissions_and_audit(apps, schema_editor):
    content_type = apps.get_model("contenttypes", "ContentType")
    permission = apps.get_model("auth", "Permission")
    old, _ = content_type.objects.get_or_create(app_label="moderation", model="moderationaction")
    new, _ = content_type.objects.get_or_create(app_label="moderation", model="rolepermission")
    permission.objects.filter(content_type=old, codename__in=ROLE_CODENAMES).update(
        content_type=new
    )

    action = apps.get_model("moderation", "ModerationAction")
    entry = apps.get_model("core", "AuditEntry")
    thread_type, _ = content_type.objects.get_or_create(app_label="forum", model="thread")
    user_type, _ = content_type.objects.get_or_create(app_label="accounts", model="user")
    entry.objects.bulk_create(
        entry(
            actor_id=row.actor_id,
            action=row.kind,
            target_type=thread_type
            if row.thread_id
            else (user_type if row.target_user_id else None),
            target_id=row.thread_id or row.target_user_id,
            reason=row.note,
            data=row.data,
            created_at=row.created_at,
        )
        for row in action.objects.order_by("id").iterator()
    )


def sync(apps, schema_editor):
    sync_role_groups(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("moderation", "0004_unanswered_question_proxy"),
        ("core", "0001_initial"),
        ("accounts", "0004_nurses_answer_in_admin"),
        ("forum", "0004_notification_sequence"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.CreateModel(
            name="RolePermission",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
            ],
            options={
                "permissions": [
                    ("answer_as_nurse", "Can answer Ask Our Nurses questions as a nurse"),
                    ("view_nurse_queue", "Can see the queue of unanswered nurse questions"),
                    ("review", "Can review flagged and held posts"),
                    ("suspend_member", "Can suspend members or put them into pre-moderation"),
                ],
                "managed": False,
                "default_permissions": (),
            },
        ),
        migrations.RunPython(move_permissions_and_audit, migrations.RunPython.noop),
        migrations.DeleteModel(name="ModerationAction"),
        migrations.RunPython(sync, migrations.RunPython.noop),
    ]
