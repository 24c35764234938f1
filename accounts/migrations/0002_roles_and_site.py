from django.conf import settings
from django.db import migrations

from accounts.roles import sync_role_groups


def create_roles(apps, schema_editor):
    sync_role_groups(apps)


def name_site(apps, schema_editor):
    # allauth's emails say where they come from: the Site, not "example.com".
    site_model = apps.get_model("sites", "Site")
    domain = settings.FRONTEND_URL.split("://", 1)[-1].split("/", 1)[0]
    site_model.objects.update_or_create(
        pk=settings.SITE_ID, defaults={"domain": domain, "name": "Haven"}
    )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("sites", "0002_alter_domain_unique"),
        ("forum", "0001_initial"),
        ("moderation", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(create_roles, migrations.RunPython.noop),
        migrations.RunPython(name_site, migrations.RunPython.noop),
    ]
