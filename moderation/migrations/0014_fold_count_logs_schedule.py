"""The count logs' fold joins the periodic jobs, every minute (``moderation.schedules``):
created once, like the others, and the admin's to edit afterwards."""

from django.db import migrations

from moderation.schedules import periodic_tasks_install


def install(apps, schema_editor):
    periodic_tasks_install(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("moderation", "0013_fan_out_sweep_schedule"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
