"""What moderation tells the forum about a new post's text, and the crisis signposting.

Registered with ``forum.policy`` in ``ModerationConfig.ready``:

- ``watched_words_screen(author, text)``: the watched words the text (title and body)
  contains, as a ``Screening``; a *block* word refuses the post with 400
  ``blocked_content``, naming nothing of what matched.
- ``screening_raised(post, screening)``: a post screening wants reviewed joins the review
  queue (``review_raise``), urgent when it is a safeguarding concern.
- ``crisis_support_html("crisis")``: what its author sees at once (Samaritans, 999, the
  helpline with its live hours), rendered from the ``crisis`` signposting template and the
  support services' current details.
"""

import logging
from datetime import datetime

from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.models import User
from accounts.roles import Role
from core.errors import BadRequest
from forum.models import Post
from forum.policy import Screening
from forum.rendering import render_markdown
from moderation.models import ReviewItem, SignpostingTemplate, WatchedWord
from moderation.review import review_raise
from moderation.safeguarding_defaults import CRISIS_BODY
from moderation.services import signposting_context
from moderation.signposting import render_template
from moderation.watched import screen_text

logger = logging.getLogger(__name__)

Action = WatchedWord.Action
BLOCKED_MESSAGE = (
    "This can't be posted as it is written: something in it is not allowed on Haven. "
    "Please change it and try again, or contact the moderators if you think this is a mistake."
)


def _is_staff(author: User) -> bool:
    # Nurses and moderators write the safeguarding guidance itself ("if you feel suicidal,
    # call Samaritans"): their words are not held, flagged or escalated.
    return author.role in (Role.NURSE, Role.MODERATOR) or author.is_superuser


def watched_words_screen(author: User, text: str) -> Screening:
    """The watched words in ``text`` as a screening; a block word refuses the post.

    Staff (nurses, moderators, admins) are only ever marked sensitive.
    """
    actions = screen_text(text)
    if not actions:
        return Screening()
    if _is_staff(author):
        actions &= {Action.SENSITIVE}
    if Action.BLOCK in actions:
        raise BadRequest("blocked_content", BLOCKED_MESSAGE)
    reasons = []
    if actions & {Action.HOLD, Action.FLAG}:
        reasons.append("watched_word")
    if Action.SAFEGUARDING in actions:
        reasons.append("safeguarding")
    if Action.SENSITIVE in actions:
        reasons.append("sensitive")
    return Screening(
        hold=Action.HOLD in actions,
        flag=Action.FLAG in actions,
        safeguarding=Action.SAFEGUARDING in actions,
        sensitive=Action.SENSITIVE in actions,
        reasons=tuple(reasons),
    )


def screening_raised(post: Post, screening: Screening) -> None:
    """A post screening wants reviewed joins the queue, in the post's transaction.

    Reasons: ``watched_word`` for a hold or flag word, ``safeguarding`` for a safeguarding
    word (the item is then urgent and moderators are alerted at once), ``held`` for a post
    held for any other reason (a new member, pre-moderation), ``premoderated`` for an edit
    by a member in pre-moderation (the post stays shown, the edit is reviewed).
    """
    reasons: list[str] = []
    if "watched_word" in screening.reasons and (screening.hold or screening.flag):
        reasons.append(ReviewItem.Reason.WATCHED_WORD)
    if screening.safeguarding:
        reasons.append(ReviewItem.Reason.SAFEGUARDING)
    if screening.hold and not reasons:
        reasons.append(ReviewItem.Reason.HELD)
    if screening.flag and not reasons and "premoderated" in screening.reasons:
        reasons.append(ReviewItem.Reason.PREMODERATED)  # an edit: never held, reviewed
    if reasons:
        review_raise(post=post, reasons=reasons, urgent=screening.safeguarding, held=screening.hold)


# --- Crisis signposting ---------------------------------------------------------------

# Without any service data (a database with nothing seeded), still the essentials.
_FALLBACK = (
    "**If you are thinking about ending your life, or you might harm yourself, please talk "
    "to someone now.**\n\n- **Samaritans**: call 116 123, free, 24 hours a day.\n"
    "- **In an emergency**, call **999** or go to A&E."
)


def crisis_markdown(*, now: datetime | None = None) -> str:
    """The crisis signposting as Markdown, with the services' details of ``now``.

    The active ``crisis`` template (the first by position) if there is one, else the
    default text. A template that cannot be rendered is logged and replaced by the default:
    crisis signposting never fails a post.
    """
    now = now or timezone.now()
    template = (
        SignpostingTemplate.objects.filter(kind=SignpostingTemplate.Kind.CRISIS, is_active=True)
        .order_by("position", "id")
        .first()
    )
    context = signposting_context(now=now)
    if "samaritans" not in context["services"]:
        return _FALLBACK
    if template is not None:
        try:
            return render_template(template.body, context)
        except ValidationError:
            logger.error("the crisis template %s cannot be rendered", template.pk)
    return render_template(CRISIS_BODY, context)


def crisis_html(*, now: datetime | None = None) -> str:
    """The crisis signposting as sanitised HTML (rendered like any post)."""
    return render_markdown(crisis_markdown(now=now))


def crisis_support() -> dict[str, str]:
    """What a client shows someone who may be at risk: ``{"kind": "crisis", "html": ...}``."""
    return {"kind": "crisis", "html": crisis_html()}


def crisis_support_html(kind: str) -> str:
    """``forum.policy`` support renderer: the HTML of ``kind`` (only ``crisis`` exists)."""
    return crisis_html()
