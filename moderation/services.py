from typing import TYPE_CHECKING, Any

from accounts.models import User
from moderation.models import ModerationAction

if TYPE_CHECKING:
    from forum.models import Thread


def moderation_action_record(
    *,
    actor: User | None,
    kind: ModerationAction.Kind,
    target_user: User | None = None,
    thread: "Thread | None" = None,
    note: str = "",
    data: dict[str, Any] | None = None,
) -> ModerationAction:
    """Append to the audit log; called inside the transaction of the action it records."""
    return ModerationAction.objects.create(
        actor=actor, kind=kind, target_user=target_user, thread=thread, note=note, data=data or {}
    )
