"""The default periodic jobs, created once: beat's schedule lives in the database from now
on, and an admin's edit is never written over (there is no CELERY_BEAT_SCHEDULE)."""

from django.db import migrations

from moderation.schedules import periodic_tasks_install


def install(apps, schema_editor):
    periodic_tasks_install(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("moderation", "0005_rolepermission_delete_moderationaction"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
