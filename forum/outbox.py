"""The email outbox: notifications are rows first; this sends the emails they are owed."""

import logging
from datetime import datetime

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.utils import timezone

from accounts.identity import published_author
from forum.models import Notification

logger = logging.getLogger(__name__)


# kind: (subject, what happened, why you hear of it), formatted with title and actor.
_EMAILS = {
    Notification.Kind.REPLY: (
        "New reply in “{title}”",
        "{actor} replied in “{title}”.",
        "You receive this because you follow this thread. To stop these emails, turn off "
        "“email on reply” in your profile, or unfollow the thread.",
    ),
    Notification.Kind.NURSE_ANSWER: (
        "A nurse has answered “{title}”",
        "A {actor} has answered “{title}”.",
        "You receive this because you follow this thread. To stop these emails, turn off "
        "“email on reply” in your profile, or unfollow the thread.",
    ),
    Notification.Kind.NEW_QUESTION: (
        "New question for the nurses: “{title}”",
        "{actor} asked the nurses a new question: “{title}”.",
        "You receive this because you are on the nursing team.",
    ),
    Notification.Kind.SLA_REMINDER: (
        "Still waiting for a nurse: “{title}”",
        "“{title}” has waited longer than the service level for a nurse's answer.",
        "You receive this because you are on the nursing team.",
    ),
    Notification.Kind.THREAD_CLOSED: (
        "“{title}” has been closed",
        "“{title}” has been closed to new replies.",
        "You receive this because you follow this thread.",
    ),
}


def _notification_email(notification: Notification) -> EmailMessage:
    """Says who and where, never what: post text stays on the forum, behind sign-in.

    Health details do not belong in inboxes that others may read.
    """
    thread = notification.thread
    subject, event, why = _EMAILS[Notification.Kind(notification.kind)]
    # The actor as the post shows them: a nurse by the title she answered under.
    actor = published_author(notification.post)["display_name"] if notification.actor_id else ""
    names = {"title": thread.title, "actor": actor}
    link = f"{settings.FRONTEND_URL}/threads/{thread.pk}/"
    return EmailMessage(
        subject=subject.format(**names),
        body=f"{event.format(**names)}\n\nRead it on Haven: {link}\n\n{why}",
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[notification.recipient.email],
    )


def notification_emails_send(
    *, post_id: int | None = None, created_before: datetime | None = None, batch: int = 100
) -> int:
    """Send the pending emails of the outbox: for one post, or every one older than a time.

    Each batch is locked with SKIP LOCKED and marked in the transaction that sends it, so two
    workers (or a retry and the periodic sweep) never send the same email twice. A failed
    send is retried by the next sweep until ``HAVEN_EMAIL_MAX_ATTEMPTS``.
    """
    sent = 0
    while True:
        with transaction.atomic():
            pending = Notification.objects.filter(email=Notification.Email.PENDING)
            if post_id is not None:
                pending = pending.filter(post_id=post_id)
            if created_before is not None:
                pending = pending.filter(created_at__lt=created_before)
            rows = list(
                pending.select_for_update(skip_locked=True, of=("self",))
                .select_related("recipient", "thread", "post__author")
                .defer("thread__search_vector", "post__body", "post__body_html")
                .order_by("created_at", "id")[:batch]
            )
            if not rows:
                return sent
            now = timezone.now()
            with get_connection() as connection:
                for notification in rows:
                    notification.email_attempts += 1
                    try:
                        message = _notification_email(notification)
                        message.connection = connection
                        message.send()
                    except Exception:
                        logger.warning(
                            "email for notification %s failed", notification.pk, exc_info=True
                        )
                        if notification.email_attempts >= settings.HAVEN_EMAIL_MAX_ATTEMPTS:
                            notification.email = Notification.Email.FAILED
                    else:
                        notification.email = Notification.Email.SENT
                        notification.emailed_at = now
                        sent += 1
            Notification.objects.bulk_update(rows, ["email", "email_attempts", "emailed_at"])
            if any(n.email == Notification.Email.PENDING for n in rows):
                return sent  # the mail server is failing: the next sweep tries again
