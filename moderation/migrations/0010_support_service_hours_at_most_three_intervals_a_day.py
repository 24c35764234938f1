"""Opening hours hold at most three intervals a day: what the admin's weekly form shows."""

from django.db import migrations, models

import moderation.opening_hours

MAX_INTERVALS_PER_DAY = 3


def refuse_longer_days(apps, schema_editor):
    """Stop, naming them, if a service already keeps more intervals in a day.

    Which intervals to merge or drop is the service's call, not this migration's: an admin
    rewrites those days, then the migration runs.
    """
    SupportService = apps.get_model("moderation", "SupportService")
    longer = [
        f"{service.key} ({day})"
        for service in SupportService.objects.order_by("key")
        for day, intervals in ((service.hours or {}).get("weekly") or {}).items()
        if isinstance(intervals, list) and len(intervals) > MAX_INTERVALS_PER_DAY
    ]
    if longer:
        raise RuntimeError(
            f"These days have more than {MAX_INTERVALS_PER_DAY} opening intervals; rewrite "
            "them first: " + ", ".join(longer)
        )


class Migration(migrations.Migration):
    dependencies = [
        ("moderation", "0009_nurse_answer_versions"),
    ]

    operations = [
        migrations.RunPython(refuse_longer_days, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="supportservice",
            name="hours",
            field=models.JSONField(
                blank=True,
                default=dict,
                help_text=(
                    'Opening hours: {"time_zone": "Europe/London", "weekly": {"mon": [["09:00", '
                    '"16:00"]], …}, "closures": ["2026-12-25"]}. Empty when it has no hours.'
                ),
                validators=[moderation.opening_hours.validate_opening_hours],
            ),
        ),
    ]
