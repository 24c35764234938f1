"""What moderation holds about a member, for her export and erasure (``accounts.privacy``).

Registered from ``ModerationConfig.ready``. Flags she raised are exported (never the flags
others raised on her posts: who flagged is theirs), and kept when she is erased, with no
flagger: the queue's history stays true, and nothing links it to her.
"""

from django.db.models import Q, QuerySet
from rest_framework import serializers

from accounts.models import User
from accounts.privacy import identifiers_of, naming, redact
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
    for flag in Flag.objects.filter(Q(flagger=user) | naming("note", words)).exclude(note=""):
        if (note := redact(flag.note, words)) != flag.note:
            Flag.objects.filter(pk=flag.pk).update(note=note)
    Flag.objects.filter(flagger=user).update(flagger=None)
    for item in ReviewItem.objects.filter(naming("note", words)):
        if (note := redact(item.note, words)) != item.note:
            ReviewItem.objects.filter(pk=item.pk).update(note=note)
