"""Search: the title's own vector (for the order) and the change log (for cached counts).

PostgreSQL only (the SQLite demo searches with ``icontains`` and gets nothing here); neither
is a model, as only ``forum.search`` reads them.

- ``forum_thread.title_vector``: a column PostgreSQL generates from the title
  (``to_tsvector('english', title)``, equal to it on every write, whoever writes), with its
  own GIN index. Adding it rewrites the thread table (~25 s at 100 k threads).
- ``forum_search_change``: one row per statement that may change which threads a search
  counts (a thread inserted, deleted, its vector, visibility, category, status, answer or
  author set; a category's slug or kind set), written by statement triggers in the writer's
  transaction, insert only (no writer waits for another). The sum of ``weight`` is the
  search generation (``forum.search.search_generation``); it starts at a random offset, so
  two databases (a test run, a restored copy) never share one.
"""

import secrets

from django.db import migrations

COLUMN = "title_vector"
INDEX = "forum_thread_title_search_gin"

CREATE = """
CREATE TABLE IF NOT EXISTS forum_search_change (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    weight bigint NOT NULL
);
CREATE OR REPLACE FUNCTION forum_search_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO forum_search_change (weight) VALUES (1);
    RETURN NULL;
END
$$;
CREATE TRIGGER forum_thread_search_changed
    AFTER INSERT OR DELETE
    OR UPDATE OF search_vector, visibility, category_id, status, nurse_answered_at, author_id,
        author_role
    ON forum_thread
    FOR EACH STATEMENT EXECUTE FUNCTION forum_search_changed();
CREATE TRIGGER forum_thread_search_truncated
    AFTER TRUNCATE ON forum_thread
    FOR EACH STATEMENT EXECUTE FUNCTION forum_search_changed();
CREATE TRIGGER forum_category_search_changed
    AFTER INSERT OR DELETE OR UPDATE OF slug, nurse_answered ON forum_category
    FOR EACH STATEMENT EXECUTE FUNCTION forum_search_changed();
CREATE TRIGGER forum_category_search_truncated
    AFTER TRUNCATE ON forum_category
    FOR EACH STATEMENT EXECUTE FUNCTION forum_search_changed();
"""

DROP = """
DROP TRIGGER IF EXISTS forum_thread_search_changed ON forum_thread;
DROP TRIGGER IF EXISTS forum_thread_search_truncated ON forum_thread;
DROP TRIGGER IF EXISTS forum_category_search_changed ON forum_category;
DROP TRIGGER IF EXISTS forum_category_search_truncated ON forum_category;
DROP FUNCTION IF EXISTS forum_search_changed();
DROP TABLE IF EXISTS forum_search_change;
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        f"ALTER TABLE forum_thread ADD COLUMN IF NOT EXISTS {COLUMN} tsvector "
        "GENERATED ALWAYS AS (to_tsvector('english'::regconfig, title)) STORED"
    )
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {INDEX} ON forum_thread USING gin ({COLUMN})"
    )
    schema_editor.execute(CREATE)
    schema_editor.execute(
        "INSERT INTO forum_search_change (weight) VALUES (%s)", [secrets.randbelow(2**52)]
    )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(DROP)
    schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")
    schema_editor.execute(f"ALTER TABLE forum_thread DROP COLUMN IF EXISTS {COLUMN}")


class Migration(migrations.Migration):
    dependencies = [("forum", "0013_category_visible_thread_count")]

    operations = [migrations.RunPython(create, drop)]
