from allauth.account.models import EmailAddress
from django.db.models import Count, Exists, OuterRef, Subquery
from django.db.models.functions import Coalesce

from accounts.models import User


def user_me(*, user: User) -> User:
    """The member's own account, with ``email_verified`` and the unread notification count."""
    from forum.models import Notification

    verified = EmailAddress.objects.filter(user=OuterRef("pk"), verified=True)
    unread = (
        Notification.objects.filter(recipient=OuterRef("pk"), read_at__isnull=True)
        .order_by()
        .values("recipient")
        .annotate(n=Count("id"))
        .values("n")
    )
    return User.objects.annotate(
        email_verified=Exists(verified),
        unread_notifications=Coalesce(Subquery(unread), 0),
    ).get(pk=user.pk)
