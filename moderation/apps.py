from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


class ModerationConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "moderation"
    verbose_name = "Moderation and Ask Our Nurses"

    def ready(self) -> None:
        from accounts.privacy import register_erase, register_export
        from moderation import privacy

        register_export("flags", privacy.export_flags, serializer=privacy.FlagExportSerializer)
        register_erase(privacy.moderation_erase)
        from forum import policy
        from moderation.models import WatchedWord
        from moderation.safeguarding import (
            crisis_support_html,
            screening_raised,
            watched_words_screen,
        )
        from moderation.watched import version_bump_on_commit

        policy.register_screen(watched_words_screen)
        policy.register_raised(screening_raised)
        policy.register_support("crisis", crisis_support_html)
        # Not business logic: every process's compiled list must follow the table, however
        # it was changed (the admin, its bulk delete, a shell).
        post_save.connect(version_bump_on_commit, sender=WatchedWord, dispatch_uid="watched-save")
        post_delete.connect(
            version_bump_on_commit, sender=WatchedWord, dispatch_uid="watched-delete"
        )
