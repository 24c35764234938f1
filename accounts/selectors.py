from collections.abc import Callable
from typing import Any

from allauth.account.models import EmailAddress
from django.db.models import Exists, OuterRef, Value
from django.db.models.functions import Coalesce

from accounts.models import User

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
