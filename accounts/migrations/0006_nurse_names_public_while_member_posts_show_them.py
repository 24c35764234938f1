"""A display name is public or private, and only public names are unique by look.

Every account starts public; nurses' names were private until now, and are here. Those
whose member posts still show their name are made public again by the forum's migration
(forum.0009), which knows the posts.
"""

import django.db.models.functions.text
from django.db import migrations, models


def nurses_names_private(apps, schema_editor):
    User = apps.get_model("accounts", "User")
    User.objects.filter(role="nurse").update(display_name_public=False)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0005_display_names_unique_by_skeleton_outside_nurses"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="user",
            name="accounts_user_display_name_skeleton_unique",
        ),
        migrations.AddField(
            model_name="user",
            name="display_name_public",
            field=models.BooleanField(
                default=True,
                help_text="Others can see the display name: every member's and moderator's, and a nurse's while what she wrote as a member shows it. Set by role changes.",
            ),
        ),
        migrations.RunPython(nurses_names_private, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="user",
            constraint=models.UniqueConstraint(
                django.db.models.functions.text.Replace(
                    django.db.models.functions.text.Replace(
                        django.db.models.functions.text.Replace(
                            django.db.models.functions.text.Replace(
                                django.db.models.functions.text.Replace(
                                    django.db.models.functions.text.Replace(
                                        django.db.models.functions.text.Replace(
                                            django.db.models.functions.text.Replace(
                                                django.db.models.functions.text.Replace(
                                                    django.db.models.functions.text.Replace(
                                                        django.db.models.functions.text.Replace(
                                                            django.db.models.functions.text.Replace(
                                                                django.db.models.functions.text.Replace(
                                                                    django.db.models.functions.text.Replace(
                                                                        django.db.models.functions.text.Replace(
                                                                            django.db.models.functions.text.Replace(
                                                                                django.db.models.functions.text.Lower(
                                                                                    models.F(
                                                                                        "display_name"
                                                                                    )
                                                                                ),
                                                                                models.Value(" "),
                                                                                models.Value(""),
                                                                            ),
                                                                            models.Value("_"),
                                                                            models.Value(""),
                                                                        ),
                                                                        models.Value("-"),
                                                                        models.Value(""),
                                                                    ),
                                                                    models.Value("0"),
                                                                    models.Value("o"),
                                                                ),
                                                                models.Value("1"),
                                                                models.Value("l"),
                                                            ),
                                                            models.Value("i"),
                                                            models.Value("l"),
                                                        ),
                                                        models.Value("2"),
                                                        models.Value("z"),
                                                    ),
                                                    models.Value("3"),
                                                    models.Value("e"),
                                                ),
                                                models.Value("4"),
                                                models.Value("a"),
                                            ),
                                            models.Value("5"),
                                            models.Value("s"),
                                        ),
                                        models.Value("6"),
                                        models.Value("g"),
                                    ),
                                    models.Value("7"),
                                    models.Value("t"),
                                ),
                                models.Value("8"),
                                models.Value("b"),
                            ),
                            models.Value("9"),
                            models.Value("q"),
                        ),
                        models.Value("rn"),
                        models.Value("m"),
                    ),
                    models.Value("vv"),
                    models.Value("w"),
                ),
                condition=models.Q(("display_name_public", True)),
                name="accounts_user_display_name_skeleton_unique",
                violation_error_message="This display name is already taken.",
            ),
        ),
        migrations.AddConstraint(
            model_name="user",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("display_name_public", True), ("role", "nurse"), _connector="OR"
                ),
                name="accounts_user_only_nurses_names_private",
            ),
        ),
    ]
