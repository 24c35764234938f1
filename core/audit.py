"""Recording to the audit log, from any app, inside the transaction of the action itself."""

from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import models

from core.models import AuditEntry

# How long a staff member's reason may be (the audit log keeps it with the action).
REASON_MAX = 500


def clean_reason(reason: str) -> str:
    """A staff member's reason for what she does to someone else's content or account:
    optional, short."""
    reason = reason.strip()
    if len(reason) > REASON_MAX:
        raise ValidationError(
            {"reason": f"The reason must be at most {REASON_MAX} characters long."}
        )
    return reason


def audit_record(
    *,
    actor: Any,
    action: str,
    target: models.Model | None = None,
    reason: str = "",
    data: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry: ``actor`` is a user (or None for the system), ``target`` any row.

    Called inside the transaction of the action it records, so an action rolled back leaves
    no entry, and an entry never exists without its action.
    """
    target_type = (
        ContentType.objects.get_for_model(target, for_concrete_model=False)
        if target is not None
        else None
    )
    return AuditEntry.objects.create(
        actor_id=getattr(actor, "pk", None),
        action=action,
        target_type=target_type,
        target_id=target.pk if target is not None else None,
        reason=reason,
        data=data or {},
    )
