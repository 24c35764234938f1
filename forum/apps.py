from django.apps import AppConfig


class ForumConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "forum"
    verbose_name = "Forum"

    def ready(self) -> None:
        from django.core import checks

        from accounts.privacy import register_erase, register_export
        from accounts.selectors import register_me_annotation
        from accounts.services import register_name_shown_by, register_shown_name_changed
        from forum import policy, privacy
        from forum.checks import check_email_lease, check_fanout_batch
        from forum.selectors import unread_notifications_of, wrote_as_member
        from forum.services import member_threads_changed, screen_new_and_premoderated

        register_me_annotation("unread_notifications", unread_notifications_of)
        register_name_shown_by(wrote_as_member)
        # Her posts and threads show her name: their cached pages move on when it changes.
        register_shown_name_changed(member_threads_changed)
        checks.register(check_email_lease)
        checks.register(check_fanout_batch)
        for section, (export, serializer) in privacy.EXPORTS.items():
            register_export(section, export, serializer=serializer)
        register_erase(privacy.forum_erase)
        # New members' first posts and members in pre-moderation are held for approval.
        policy.register_screen(screen_new_and_premoderated)
