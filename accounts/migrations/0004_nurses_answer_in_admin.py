from django.db import migrations

from accounts.roles import sync_role_groups


def sync(apps, schema_editor):
    sync_role_groups(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_user_email_on_reply"),
        ("moderation", "0004_unanswered_question_proxy"),
    ]

    operations = [migrations.RunPython(sync, migrations.RunPython.noop)]
