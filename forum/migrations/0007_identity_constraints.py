"""The database holds the identity rules (a separate step: the rows were fixed in 0005 under
deferred foreign-key checks, and PostgreSQL alters no table with such events pending)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("forum", "0006_frozen_public_identity"),
    ]

    operations = [
        migrations.AddConstraint(
            model_name="post",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("author_role", "member"), ("author_title", "")),
                    models.Q(
                        models.Q(("author_role", "member"), _negated=True),
                        models.Q(("author_title", ""), _negated=True),
                    ),
                    _connector="OR",
                ),
                name="forum_post_staff_author_has_title",
            ),
        ),
        migrations.AddConstraint(
            model_name="post",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("kind", "nurse_answer"), _negated=True),
                    ("author_role", "nurse"),
                    _connector="OR",
                ),
                name="forum_post_nurse_answer_by_nurse",
            ),
        ),
        migrations.AddConstraint(
            model_name="thread",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("author_role", "member"), ("author_title", "")),
                    models.Q(
                        models.Q(("author_role", "member"), _negated=True),
                        models.Q(("author_title", ""), _negated=True),
                    ),
                    _connector="OR",
                ),
                name="forum_thread_staff_author_has_title",
            ),
        ),
        migrations.AddConstraint(
            model_name="thread",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("closed_by_role", ""), ("closed_by_title", ""), ("status", "open")),
                    models.Q(
                        ("closed_by_role__in", ["nurse", "moderator"]),
                        ("status", "closed"),
                        models.Q(("closed_by_title", ""), _negated=True),
                    ),
                    _connector="OR",
                ),
                name="forum_thread_closed_by_staff_title",
            ),
        ),
    ]
