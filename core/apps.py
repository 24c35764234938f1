from django.apps import AppConfig


class CoreConfig(AppConfig):
    """The floor every app stands on: errors, on-commit jobs, API conventions, the audit log."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "core"
    verbose_name = "Core"
