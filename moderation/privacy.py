"""What moderation holds about a member, for her export and erasure (``accounts.privacy``).

Registered from ``ModerationConfig.ready``. Flags she raised are exported (never the flags
others raised on her posts: who flagged is theirs), and kept when she is erased, with no
flagger: the queue's history stays true, and nothing links it to her.
"""

from django.db.models import QuerySet
from rest_framework import serializers

from accounts.models import User
from accounts.privacy import identifiers_of, redact_field
from moderation.models import Flag, ReviewItem


class FlagExportSerializer(serializers.Serializer):
    post = serializers.IntegerField(source="post_id")
    reason = serializers.CharField()
    note = serializers.CharField()
    is_open = serializers.BooleanField()
    created_at = serializers.DateTimeField()


def export_flags(user: User) -> QuerySet[Flag]:
    return Flag.objects.filter(flagger=user).order_by("pk")


def moderation_erase(user: User, *, delete_posts: bool) -> None:
    """Her flags lose their flagger; every flag or review note naming her (hers, another
    member's, a moderator's) loses her name. Runs after the forum's eraser has locked her
    row (the lock order)."""
    words = identifiers_of(user)
    redact_field(Flag.objects.all(), "note", words)
    Flag.objects.filter(flagger=user).update(flagger=None)
    redact_field(ReviewItem.objects.all(), "note", words)
