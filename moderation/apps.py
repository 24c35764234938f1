from django.apps import AppConfig


class ModerationConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "moderation"
    verbose_name = "Moderation and Ask Our Nurses"

    def ready(self) -> None:
        from accounts.privacy import register_erase, register_export
        from moderation import privacy

        register_export("flags", privacy.export_flags, serializer=privacy.FlagExportSerializer)
        register_erase(privacy.moderation_erase)
