"""Once synced the role groups; that is moderation's migration now (the groups hold
permissions of the apps above accounts, and no migration here depends on them)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("accounts", "0003_user_email_on_reply")]

    operations: list = []
