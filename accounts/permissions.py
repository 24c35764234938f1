"""Who may write: a signed-in member whose email is verified and who is not suspended.

``check_can_write`` is the rule; services call it so the rule holds for every caller, and
``IsParticipant`` applies it to API views before any input is parsed.
"""

from typing import Any

from allauth.account.models import EmailAddress
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from accounts.models import User
from core.errors import Forbidden


def check_can_write(user: User) -> None:
    if user.is_suspended:
        raise Forbidden(
            "suspended",
            "Your account is suspended: you can read the forum but not post or change it.",
        )
    if not _email_verified(user):
        raise Forbidden("email_unverified", "Please verify your email address before posting.")


def _email_verified(user: User) -> bool:
    """Asked once per request: the permission class and the service both check the rule.

    Only a positive answer is remembered on the (per-request) user object.
    """
    if getattr(user, "_haven_email_verified", False):
        return True
    verified = EmailAddress.objects.filter(user=user, verified=True).exists()
    if verified:
        user._haven_email_verified = True  # type: ignore[attr-defined]
    return verified


class IsParticipant(BasePermission):
    """Signed in to read; verified and not suspended to write."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        if request.method not in SAFE_METHODS:
            check_can_write(request.user)
        return True


class ReadOnlyOrParticipant(IsParticipant):
    """Anyone may read; writing needs a participant."""

    anonymous_reads = True  # the OpenAPI schema marks reads public (core.api.schema)

    def has_permission(self, request: Request, view: Any) -> bool:
        return request.method in SAFE_METHODS or super().has_permission(request, view)
