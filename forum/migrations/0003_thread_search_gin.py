from django.db import migrations

INDEX = "forum_thread_search_gin"


def create(apps, schema_editor):
    # Full-text search is PostgreSQL's; the SQLite demo run searches with icontains.
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {INDEX} ON forum_thread USING gin (search_vector)"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("forum", "0002_threads_posts_likes_follows_notifications")]

    operations = [migrations.RunPython(create, drop)]
