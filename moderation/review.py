"""The review queue's one way in: a post raised for review creates or joins its open item.

Flags (``moderation.flags``), held posts and watched-word matches all come through
``review_raise``, inside the transaction that raised them, after the post's thread and
the post are locked (the forum's lock order), so two raisers of one post join one item.
"""

from django.db import IntegrityError, transaction
from django.db.models import F

from core.jobs import enqueue_on_commit
from forum.models import Post
from moderation.models import ReviewItem

# How much each reason weighs in an item's score (the queue shows the score).
REASON_SCORE: dict[str, int] = {
    ReviewItem.Reason.SAFEGUARDING: 10,
    ReviewItem.Reason.SPAM: 3,
    ReviewItem.Reason.INAPPROPRIATE: 3,
    ReviewItem.Reason.MISINFORMATION: 3,
    ReviewItem.Reason.OTHER: 2,
    ReviewItem.Reason.WATCHED_WORD: 2,
    ReviewItem.Reason.HELD: 1,
}


def review_raise(
    *,
    post: Post,
    reasons: list[str],
    urgent: bool = False,
    held: bool = False,
) -> ReviewItem:
    """The post's open review item, created or joined: each reason counted once more.

    A newly urgent item sends the urgent alert job once the transaction commits; other
    items reach moderators in the hourly digest.
    """
    with transaction.atomic():
        item = (
            ReviewItem.objects.select_for_update()
            .filter(post=post, status=ReviewItem.Status.PENDING)
            .first()
        )
        created = item is None
        was_urgent = bool(item and item.urgent)
        if item is None:
            try:
                with transaction.atomic():
                    item = ReviewItem.objects.create(post=post, thread_id=post.thread_id)
            except IntegrityError:
                # Someone raised it between our look and our insert: join theirs.
                item = ReviewItem.objects.select_for_update().get(
                    post=post, status=ReviewItem.Status.PENDING
                )
                created = False
                was_urgent = item.urgent
        counts = dict(item.reasons)
        for reason in reasons:
            counts[reason] = counts.get(reason, 0) + 1
        item.reasons = counts
        item.score = F("score") + sum(REASON_SCORE.get(r, 1) for r in reasons)
        item.urgent = item.urgent or urgent
        item.held = item.held or held
        item.save(update_fields=["reasons", "score", "urgent", "held"])
        item.refresh_from_db(fields=["score"])
    if item.urgent and (created or not was_urgent):
        from moderation.tasks import alert_urgent_review

        enqueue_on_commit(alert_urgent_review, review_item_id=item.pk)
    return item
