"""The thread lists' count, kept: each category's visible threads as last folded, and a log
of the changes since, written by a trigger on the threads table (``forum.models``:
``Category.visible_thread_count``, ``ThreadCountChange``).

The trigger is PostgreSQL's (SQLite, the demo, counts its threads). It logs a row's leaving
its category's visible threads (deleted, hidden or held, moved away) and its entering them
(inserted visible, approved or restored, moved in), and nothing for any other change. A
``TRUNCATE`` of the threads (a test database's flush) empties the log and zeroes the counts.
"""

from django.db import migrations, models

TRIGGER = """
CREATE OR REPLACE FUNCTION forum_thread_counted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' AND OLD.visibility = 'visible' THEN
        IF TG_OP = 'DELETE' OR NEW.visibility <> 'visible'
                OR NEW.category_id <> OLD.category_id THEN
            INSERT INTO forum_threadcountchange (category_id, delta) VALUES (OLD.category_id, -1);
        END IF;
    END IF;
    IF TG_OP <> 'DELETE' AND NEW.visibility = 'visible' THEN
        IF TG_OP = 'INSERT' OR OLD.visibility <> 'visible'
                OR NEW.category_id <> OLD.category_id THEN
            INSERT INTO forum_threadcountchange (category_id, delta) VALUES (NEW.category_id, 1);
        END IF;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER forum_thread_counted
    AFTER INSERT OR DELETE OR UPDATE OF visibility, category_id ON forum_thread
    FOR EACH ROW EXECUTE FUNCTION forum_thread_counted();
CREATE OR REPLACE FUNCTION forum_thread_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM forum_threadcountchange;
    UPDATE forum_category SET visible_thread_count = 0 WHERE visible_thread_count <> 0;
    RETURN NULL;
END
$$;
CREATE TRIGGER forum_thread_truncated
    AFTER TRUNCATE ON forum_thread
    FOR EACH STATEMENT EXECUTE FUNCTION forum_thread_truncated();
"""

UNTRIGGER = """
DROP TRIGGER IF EXISTS forum_thread_truncated ON forum_thread;
DROP FUNCTION IF EXISTS forum_thread_truncated();
DROP TRIGGER IF EXISTS forum_thread_counted ON forum_thread;
DROP FUNCTION IF EXISTS forum_thread_counted();
"""

# The real counts, as ``forum.services.thread_counts_recount`` sets them (frozen here: a
# migration never imports the code it may outlive), the log emptied.
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


def trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(TRIGGER)


def untrigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(UNTRIGGER)


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
                help_text="Visible threads in this category when its count was last folded.",
            ),
        ),
        migrations.CreateModel(
            name="ThreadCountChange",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("category_id", models.BigIntegerField()),
                ("delta", models.SmallIntegerField()),
            ],
        ),
        migrations.RunPython(trigger, untrigger, elidable=True),
        migrations.RunSQL(RECOUNT, reverse_sql=migrations.RunSQL.noop, elidable=True),
    ]
