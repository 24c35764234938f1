from allauth.account.models import EmailAddress
from django.db.models import Exists, OuterRef

from accounts.models import User


def user_me(*, user: User) -> User:
    """The member's own account, with ``email_verified`` from allauth's address book."""
    verified = EmailAddress.objects.filter(user=OuterRef("pk"), verified=True)
    return User.objects.annotate(email_verified=Exists(verified)).get(pk=user.pk)
