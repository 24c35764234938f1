from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone


class AuditEntryQuerySet(models.QuerySet["AuditEntry"]):
    def for_target(self, target: models.Model) -> "AuditEntryQuerySet":
        return self.filter(
            target_type=ContentType.objects.get_for_model(target, for_concrete_model=False),
            target_id=target.pk,
        )


class AuditEntry(models.Model):
    """The audit log: who did what to which record, and why. Rows are only ever added.

    It sits at the floor of the layers, so it names the acting user by id and its target by
    content type and id rather than by foreign keys into the apps above: any app records
    here, and no app below has to know the one above it.
    """

    actor_id = models.PositiveBigIntegerField(
        null=True, blank=True, help_text="The user who acted; empty for the system or a command."
    )
    action = models.CharField(max_length=40)
    target_type = models.ForeignKey(
        ContentType, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    target_id = models.PositiveBigIntegerField(null=True, blank=True)
    target = GenericForeignKey("target_type", "target_id")
    reason = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "audit entries"
        indexes = [
            models.Index(fields=["action", "-created_at"], name="core_audit_action_idx"),
            models.Index(
                fields=["target_type", "target_id", "-created_at"], name="core_audit_target_idx"
            ),
            models.Index(fields=["actor_id", "-created_at"], name="core_audit_actor_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.action} at {self.created_at:%Y-%m-%d %H:%M}"
