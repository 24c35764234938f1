from django.conf import settings
from django.db import models
from django.utils import timezone


class ModerationAction(models.Model):
    """The audit log: who did what to whom, and why. Rows are only ever added."""

    class Kind(models.TextChoices):
        ROLE_CHANGED = "role_changed", "Role changed"
        THREAD_CLOSED = "thread_closed", "Thread closed"
        THREAD_REOPENED = "thread_reopened", "Thread reopened"

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Empty when done by the system or from the command line.",
    )
    kind = models.CharField(max_length=32, choices=Kind.choices)
    target_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="moderation_actions_received",
    )
    thread = models.ForeignKey(
        "forum.Thread", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["kind", "-created_at"], name="moderation_action_kind_idx"),
            models.Index(
                fields=["target_user", "-created_at"], name="moderation_action_target_idx"
            ),
        ]
        # The named permissions behind the roles (see accounts/roles.py).
        permissions = [
            ("answer_as_nurse", "Can answer Ask Our Nurses questions as a nurse"),
            ("view_nurse_queue", "Can see the queue of unanswered nurse questions"),
            ("review", "Can review flagged and held posts"),
            ("suspend_member", "Can suspend members or put them into pre-moderation"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} at {self.created_at:%Y-%m-%d %H:%M}"
