"""The review queue: what moderators read, claim and resolve.

Resolving decides a post's fate through the forum's moderation services (which change its
visibility and counters, notify its author and audit), then closes the item and its flags,
all in one transaction. Lock order: the thread, then the post (``forum.services``), then
the item; two moderators resolving one item queue on the thread's lock, and the second
finds it resolved (409 ``already_resolved``).

A claim says "I am on it": another moderator's claim refuses a second claim and a
resolution (409 ``claimed_by_other``) until it is released or lapses
(``HAVEN_REVIEW_CLAIM_MINUTES``), so an item claimed by someone who went home is never
stuck. Claiming is not needed to resolve.
"""

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Prefetch, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from accounts.identity import author_public, voice_of
from accounts.models import User
from accounts.permissions import check_can_write
from core.audit import REASON_MAX, audit_record
from core.errors import Conflict, Forbidden
from core.models import AuditEntry
from forum.models import Post
from forum.services import (
    clean_note,
    post_hidden_confirm,
    post_hide,
    post_hold_approve,
    post_hold_reject,
    post_lock,
    post_restore,
    thread_lock,
)
from moderation.models import Flag, ReviewItem

ACTIONS = ("approve", "reject", "hide", "restore", "dismiss")
RESOLVED_AS = {
    "approve": ReviewItem.Status.APPROVED,
    "reject": ReviewItem.Status.REJECTED,
    "hide": ReviewItem.Status.HIDDEN,
    "restore": ReviewItem.Status.APPROVED,
    "dismiss": ReviewItem.Status.DISMISSED,
}


def check_may_review(user: User) -> None:
    """Moderators (``moderation.review``) who may write work the queue."""
    check_can_write(user)
    if not user.has_perm("moderation.review"):
        raise Forbidden("not_moderator", "Only moderators work the review queue.")


# --- Reads -----------------------------------------------------------------------------------


def review_items() -> QuerySet[ReviewItem]:
    """Items with what the queue shows of each in two more queries: post, thread, flags."""
    flags = Flag.objects.select_related("flagger").order_by("created_at", "id")
    return ReviewItem.objects.select_related("post__author", "thread").prefetch_related(
        Prefetch("flags", queryset=flags)
    )


def review_queue(*, status: str = ReviewItem.Status.PENDING) -> QuerySet[ReviewItem]:
    """Urgent first; then the oldest pending, or the most recently resolved."""
    items = review_items().filter(status=status)
    if status == ReviewItem.Status.PENDING:
        return items.order_by("-urgent", "created_at", "id")
    return items.order_by("-urgent", "-resolved_at", "-id")


def review_item_get(*, item_id: int) -> ReviewItem:
    item = review_items().filter(pk=item_id).first()
    if item is None:
        raise Http404("No such review item.")
    return item


def flagger_public(user: User | None) -> dict[str, Any] | None:
    """Who raised a flag, as moderators see it (no one else does): a member by her name,
    staff by their title; None once she erased her account."""
    if user is None:
        return None
    voice = voice_of(user)
    return author_public(user, role=voice.role, title=voice.title)


def _claim_lapse() -> timedelta:
    return timedelta(minutes=settings.HAVEN_REVIEW_CLAIM_MINUTES)


def claim_is_live(item: ReviewItem, *, now: datetime) -> bool:
    """A claim keeps others off an item for ``HAVEN_REVIEW_CLAIM_MINUTES``, then lapses."""
    return bool(item.claimed_by_id and item.claimed_at and item.claimed_at > now - _claim_lapse())


def live_claim(*, now: datetime) -> Q:
    """Items under a claim still in force (``claim_is_live`` as a filter)."""
    return Q(claimed_by__isnull=False, claimed_at__gt=now - _claim_lapse())


def hidden_by_flags(post: Post) -> bool:
    """Whether the flag threshold (no moderator) hid the post last: the audit log says."""
    if post.status != Post.Status.HIDDEN:
        return False
    last = (
        AuditEntry.objects.for_target(post)
        .filter(action__in=["post_hidden", "post_restored"])
        .order_by("-created_at", "-id")
        .first()
    )
    return last is not None and last.action == "post_hidden" and last.actor_id is None


# --- Writes ----------------------------------------------------------------------------------


def _lock_item(item: ReviewItem) -> tuple[Post, ReviewItem]:
    thread = thread_lock(item.thread_id)
    post = post_lock(thread=thread, post_id=item.post_id)
    locked = ReviewItem.objects.select_for_update().get(pk=item.pk)
    return post, locked


def _check_pending(item: ReviewItem) -> None:
    if item.status != ReviewItem.Status.PENDING:
        raise Conflict("already_resolved", "This item has already been resolved.")


def _check_not_claimed_by_other(item: ReviewItem, moderator: User, *, now: datetime) -> None:
    if claim_is_live(item, now=now) and item.claimed_by_id != moderator.pk:
        raise Conflict("claimed_by_other", "Another moderator is working on this item.")


@transaction.atomic
def review_claim(*, moderator: User, item: ReviewItem, release: bool = False) -> ReviewItem:
    """Take a pending item (taking one's own again renews it), or release one's claim."""
    check_may_review(moderator)
    now = timezone.now()
    item = ReviewItem.objects.select_for_update().get(pk=item.pk)
    _check_pending(item)
    _check_not_claimed_by_other(item, moderator, now=now)
    if release:
        item.claimed_by, item.claimed_at = None, None
    else:
        item.claimed_by, item.claimed_at = moderator, now
    item.save(update_fields=["claimed_by", "claimed_at"])
    return item


def _as_reason(note: str) -> str:
    """The note, as the reason recorded with the post's change (reasons are shorter)."""
    return note if len(note) <= REASON_MAX else note[: REASON_MAX - 1] + "…"


def _apply(*, action: str, moderator: User, post: Post, note: str) -> None:
    """What the action does to the post, through the forum's services (which audit it)."""
    held = post.status == Post.Status.PENDING
    hidden = post.status == Post.Status.HIDDEN
    reason = _as_reason(note)
    if action == "approve":
        if held:
            post_hold_approve(actor=moderator, post=post, note=note)
        elif hidden:
            post_restore(actor=moderator, post=post, reason=reason)
    elif action in ("reject", "hide"):
        if held and action == "reject":
            post_hold_reject(actor=moderator, post=post, note=note)
        elif hidden_by_flags(post):
            # The threshold hid it without a word: the moderator's decision and note now.
            post_hidden_confirm(actor=moderator, post=post, reason=reason, note=note)
        elif not hidden:
            post_hide(actor=moderator, post=post, reason=reason, note=note)
    elif action == "restore":
        post_restore(actor=moderator, post=post, reason=reason)
    elif action == "dismiss":
        if held:
            raise Conflict("still_held", "A held post is approved or rejected, not dismissed.")
        if hidden_by_flags(post):
            post_restore(actor=moderator, post=post, reason=reason)


@transaction.atomic
def review_resolve(*, moderator: User, item: ReviewItem, action: str, note: str = "") -> ReviewItem:
    """Decide a pending item: the post's fate, then the item closed with its flags, audited.

    approve: a held post is published, a hidden one shown again; reject: a held post
    refused, a visible one hidden; hide; restore (a hidden post); dismiss: the flags were
    unfounded, the post stays as it is, unless only the flag threshold hid it. The author
    hears of a rejection or hiding with the ``note``.
    """
    check_may_review(moderator)
    if action not in ACTIONS:
        raise ValidationError({"action": f"Choose one of {', '.join(ACTIONS)}."})
    note = clean_note(note)
    now = timezone.now()
    post, item = _lock_item(item)
    _check_pending(item)
    _check_not_claimed_by_other(item, moderator, now=now)
    _apply(action=action, moderator=moderator, post=post, note=note)

    item.status = RESOLVED_AS[action]
    item.resolved_by, item.resolved_at, item.note = moderator, now, note
    item.save(update_fields=["status", "resolved_by", "resolved_at", "note"])
    closed = Flag.objects.filter(review_item=item, is_open=True).update(is_open=False)
    audit_record(
        actor=moderator,
        action="review_resolved",
        target=item,
        reason=note,
        data={"action": action, "item": item.pk, "post": post.pk, "flags_closed": closed},
    )
    return item
