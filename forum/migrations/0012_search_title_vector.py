"""Search ranks titles from a small vector of their own (``forum.search``).

``title_vector`` is a generated column (PostgreSQL keeps it equal to the title's
``to_tsvector('english', title)`` on every write, whoever writes), with its own GIN index.
It is not a model field: only PostgreSQL has it, and only ``forum.search`` reads it. The SQLite
demo searches with ``icontains`` and gets nothing here. Adding it rewrites the thread table
(~25 s at 100 k threads).
"""

from django.db import migrations

COLUMN = "title_vector"
INDEX = "forum_thread_title_search_gin"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"ALTER TABLE forum_thread ADD COLUMN IF NOT EXISTS {COLUMN} tsvector "
            "GENERATED ALWAYS AS (to_tsvector('english'::regconfig, title)) STORED"
        )
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {INDEX} ON forum_thread USING gin ({COLUMN})"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")
        schema_editor.execute(f"ALTER TABLE forum_thread DROP COLUMN IF EXISTS {COLUMN}")


class Migration(migrations.Migration):
    dependencies = [("forum", "0011_thread_version_post_fanned_out")]

    operations = [migrations.RunPython(create, drop)]
