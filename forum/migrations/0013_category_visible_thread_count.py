from django.db import migrations, models

# The real counts, as ``forum.services.thread_counts_recount`` computes them (frozen here:
# a migration never imports the code it may outlive).
RECOUNT = """
UPDATE forum_category AS c
SET visible_thread_count = COALESCE(counted.n, 0)
FROM forum_category AS every
LEFT JOIN (
    SELECT category_id, COUNT(*) AS n FROM forum_thread
    WHERE visibility = 'visible' GROUP BY category_id
) AS counted ON counted.category_id = every.id
WHERE c.id = every.id
"""


class Migration(migrations.Migration):
    dependencies = [
        ("forum", "0012_post_held_idx"),
    ]

    operations = [
        migrations.AddField(
            model_name="category",
            name="visible_thread_count",
            field=models.PositiveIntegerField(
                default=0,
                editable=False,
                help_text="Visible threads in this category, kept by the services.",
            ),
        ),
        migrations.RunSQL(RECOUNT, reverse_sql=migrations.RunSQL.noop, elidable=True),
    ]
