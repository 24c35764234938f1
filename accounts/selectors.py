from collections.abc import Callable
from typing import Any

from allauth.account.models import EmailAddress
from django.db.models import Exists, OuterRef, QuerySet, Value
from django.db.models.functions import Coalesce
from django.http import Http404

from accounts.models import Mute, User
from accounts.roles import Role

# What apps above this one add to the member's own account, each an expression over the
# user row (the forum's unread notifications): registered in their AppConfig.ready().
_ME_ANNOTATIONS: dict[str, Callable[[], Any]] = {}


def register_me_annotation(name: str, expression: Callable[[], Any]) -> None:
    """Let a higher app add one figure to ``user_me`` without this app importing it."""
    _ME_ANNOTATIONS[name] = expression


def user_me(*, user: User) -> User:
    """The member's own account, with ``email_verified`` and what the apps above add."""
    verified = EmailAddress.objects.filter(user=OuterRef("pk"), verified=True)
    extras = {name: Coalesce(make(), Value(0)) for name, make in _ME_ANNOTATIONS.items()}
    return User.objects.annotate(email_verified=Exists(verified), **extras).get(pk=user.pk)


def member_mutable(*, member_id: int) -> User:
    """An active member, by id, that one may mute. Staff publish as their role, never by id,
    so they are as unknown here as an id that does not exist (404)."""
    member = User.objects.filter(
        pk=member_id, is_active=True, role=Role.MEMBER, erased_at__isnull=True
    ).first()
    if member is None:
        raise Http404("No such member.")
    return member


def mute_exists(*, user: User, muted_id: int) -> bool:
    return Mute.objects.filter(user=user, muted_id=muted_id).exists()


def mute_list(*, user: User) -> QuerySet[Mute]:
    """Whom the member muted, newest first: active members only (the others show nothing)."""
    return Mute.objects.filter(
        user=user, muted__is_active=True, muted__role=Role.MEMBER
    ).select_related("muted")
