"""The site's name. The role groups, once made here too, are the top app's
(moderation/migrations): their permissions belong to the apps above this one."""

from django.conf import settings
from django.db import migrations


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
    ]

    operations = [
        migrations.RunPython(name_site, migrations.RunPython.noop),
    ]
