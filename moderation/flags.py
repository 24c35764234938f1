"""Members flag posts: each flag creates or joins the post's open review item.

Lock order (the forum's): the thread, then the post, then the review item (in
``review_raise``), then the flag rows. One open flag per member per post: the check under
the thread lock answers 409 ``already_flagged``, and the partial unique constraint
``moderation_flag_one_open_per_member`` holds it for any writer that skips the check.

Enough open flags from distinct members (``HAVEN_FLAG_HIDE_THRESHOLD``) hide a member's
post until a moderator reviews it; a nurse answer is never hidden that way (it is
corrected, not hidden), so it becomes urgent instead.
"""

from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import Http404

from accounts.models import User
from accounts.permissions import check_can_write
from core.errors import Conflict, Forbidden
from forum.models import Post
from forum.policy import support_html
from forum.services import clean_note, post_hide, post_lock, thread_changed, thread_lock_visible
from moderation.models import FLAG_REASONS, Flag, ReviewItem
from moderation.review import review_raise

CRISIS = "crisis"
THRESHOLD_REASON = "Hidden automatically: flagged by several members, waiting for review."


@dataclass(frozen=True)
class FlagResult:
    flag: Flag
    item: ReviewItem
    hidden: bool  # the flag took the post over the threshold and it is now hidden
    support: dict[str, str] | None  # crisis signposting for the flagger (safeguarding)


def open_flag_of(*, flagger: User, post: Post) -> Flag | None:
    """The member's open flag on the post, if she has one (at most one is open)."""
    return Flag.objects.filter(flagger=flagger, post=post, is_open=True).first()


def open_flag_count(post: Post) -> int:
    """Distinct members with an open flag on the post (one open flag per member)."""
    return Flag.objects.filter(post=post, is_open=True).count()


@transaction.atomic
def flag_create(*, flagger: User, post: Post, reason: str, note: str = "") -> FlagResult:
    """Flag a visible post someone else wrote, once while the flag is open.

    A safeguarding flag makes the item urgent (moderators are alerted at once) and shows
    crisis signposting to the post's author, on the post, and to the flagger, in the answer.
    """
    check_can_write(flagger)
    if reason not in dict(FLAG_REASONS):
        raise ValidationError({"reason": f"Choose one of {', '.join(dict(FLAG_REASONS))}."})
    note = clean_note(note)
    thread = thread_lock_visible(post.thread_id)
    post = post_lock(thread=thread, post_id=post.pk)
    if post.status != Post.Status.VISIBLE:
        raise Http404("No such post.")
    if post.kind == Post.Kind.SYSTEM:
        raise Forbidden("not_flaggable", "Notices of the forum itself cannot be flagged.")
    if post.author_id == flagger.pk:
        raise Forbidden("own_post", "You cannot flag your own post.")
    if Flag.objects.filter(flagger=flagger, post=post, is_open=True).exists():
        raise Conflict("already_flagged", "You have already flagged this post.")

    safeguarding = reason == ReviewItem.Reason.SAFEGUARDING
    over_threshold = open_flag_count(post) + 1 >= settings.HAVEN_FLAG_HIDE_THRESHOLD
    can_hide = post.kind == Post.Kind.POST
    item = review_raise(
        post=post, reasons=[reason], urgent=safeguarding or (over_threshold and not can_hide)
    )
    try:
        with transaction.atomic():
            flag = Flag.objects.create(
                post=post, flagger=flagger, review_item=item, reason=reason, note=note
            )
    except IntegrityError as exc:  # a concurrent writer that skipped the lock
        raise Conflict("already_flagged", "You have already flagged this post.") from exc

    if safeguarding and post.support_kind != CRISIS:
        post.support_kind = CRISIS
        post.save(update_fields=["support_kind"])
        thread_changed(thread.pk)
    hidden = False
    if over_threshold and can_hide:
        post_hide(actor=None, post=post, reason=THRESHOLD_REASON)
        hidden = True
    support = {"kind": CRISIS, "html": support_html(CRISIS) or ""} if safeguarding else None
    return FlagResult(flag=flag, item=item, hidden=hidden, support=support)
