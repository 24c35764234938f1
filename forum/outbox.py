"""The email outbox: notifications are rows first; this sends the emails they are owed.

Delivery works on leases, so that a worker killed at any moment loses nothing and doubles
at most the one message it was in the middle of:

1. *Claim*: a short committed transaction takes a batch of due rows (``pending``, or
   ``sending`` with an expired lease) with ``SELECT ... FOR UPDATE SKIP LOCKED``, marks them
   ``sending`` until ``now + HAVEN_EMAIL_LEASE_SECONDS`` and counts the attempt. Two workers,
   two overlapping beats, or a job and the sweep never claim the same row.
2. *Send*, outside any transaction, on one connection opened first: a mail server that
   cannot be reached sends nothing, so every claimed row goes back uncounted. Before each
   message the worker checks that its lease leaves room for a whole SMTP conversation; it
   never sends on an expired lease.
3. *Mark* each message ``sent`` the moment the server accepted it, in its own UPDATE, and
   only while the row is still under this claim (``sending``, this lease's expiry): a
   worker that outlived its lease changes nothing another worker has claimed since, and
   stops.
4. *Release* what it did not send (lease running out, a time limit, any other error) back
   to ``pending``, uncounted, before the error propagates; again only under this claim.

A worker that dies between 2 and 3 leaves its claimed rows ``sending``; once the lease
expires the sweep claims them again, so the message in flight is the only one sent twice.
Every email carries a Message-ID derived from its notification, so a resend is recognisable.
"""

import logging
import smtplib
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.sites.models import Site
from django.core.exceptions import ImproperlyConfigured
from django.core.mail import EmailMessage, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.db import transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone

from accounts.identity import published_author
from forum.models import NOTICES_WITHOUT_POST_LINK, Notification

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
    Notification.Kind.URGENT_REVIEW: (
        "[URGENT] Safeguarding concern in “{title}”",
        "A post in “{title}” may be from someone at risk and needs a moderator now.",
        "You receive this because you are a moderator. The first moderator to claim it in "
        "the review queue stops the re-alerts.",
    ),
    Notification.Kind.REVIEW: (
        "A post in “{title}” needs review",
        "A post in “{title}” waits in the review queue.",
        "You receive this because you are a moderator.",
    ),
    Notification.Kind.THREAD_CLOSED: (
        "“{title}” has been closed",
        "“{title}” has been closed to new replies.",
        "You receive this because you follow this thread.",
    ),
    Notification.Kind.POST_APPROVED: (
        "Your post in “{title}” is now on Haven",
        "A moderator approved your post in “{title}”: everyone can see it now.",
        "You receive this because your post was waiting for approval.",
    ),
    Notification.Kind.POST_REJECTED: (
        "Your post in “{title}” was not approved",
        "A moderator did not approve your post in “{title}”. Their note is on Haven.",
        "You receive this because your post was waiting for approval.",
    ),
    Notification.Kind.POST_HIDDEN: (
        "Your post in “{title}” has been hidden",
        "Your post in “{title}” has been hidden. The moderators' note is on Haven.",
        "You receive this because it is your post.",
    ),
}


# Kinds whose emails are marked urgent for mail clients (and say so in the subject).
URGENT_KINDS = frozenset({Notification.Kind.URGENT_REVIEW})
URGENT_HEADERS = {"Importance": "high", "X-Priority": "1"}


def _message_id(notification: Notification, domain: str) -> str:
    """The same for every resend of one notification: a receiving server can tell."""
    return f"<notification-{notification.pk}@{domain}>"


def _notification_email(notification: Notification, *, domain: str) -> EmailMessage:
    """Says who and where, never what: post text stays on the forum, behind sign-in.

    Health details do not belong in inboxes that others may read.
    """
    thread = notification.thread
    subject, event, why = _EMAILS[Notification.Kind(notification.kind)]
    # The actor as the post shows them: a nurse by the title she answered under.
    actor = published_author(notification.post)["display_name"] if notification.actor_id else ""
    names = {"title": thread.title, "actor": actor}
    # The post's permalink (the page of the thread that holds it), else the thread's page.
    # A post taken from its author (hidden, not approved) is no page of hers: her
    # notifications are, with the moderators' note.
    if notification.kind in NOTICES_WITHOUT_POST_LINK:
        page = reverse("pages:notifications")
    elif notification.post_id:
        page = reverse("pages:post", kwargs={"post_id": notification.post_id})
    else:
        page = reverse("pages:thread", kwargs={"thread_id": thread.pk})
    link = settings.FRONTEND_URL + page
    return EmailMessage(
        subject=subject.format(**names),
        body=f"{event.format(**names)}\n\nRead it on Haven: {link}\n\n{why}",
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[notification.recipient.email],
        headers={
            "Message-ID": _message_id(notification, domain),
            **(URGENT_HEADERS if notification.kind in URGENT_KINDS else {}),
        },
    )


# The server answered and refused this one message: the next ones may well go through.
_REFUSED = (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, smtplib.SMTPDataError)
# Anything else from the mail server or the network: it is failing, stop for this run.
_MAIL_ERRORS = (smtplib.SMTPException, OSError)
# A message on an open connection waits for at most four replies (MAIL, RCPT, DATA, the end
# of data), each bounded by EMAIL_TIMEOUT: the room one SMTP conversation needs.
_REPLIES_PER_MESSAGE = 4


def smtp_conversation_time() -> timedelta:
    """The longest one message can take to send on an open connection."""
    return timedelta(seconds=_REPLIES_PER_MESSAGE * settings.EMAIL_TIMEOUT)


def _claim(
    *, post_id: int | None, created_before: datetime | None, batch: int, failed: set[int]
) -> tuple[list[Notification], datetime]:
    """Lease a batch of due rows to this worker, in a short committed transaction."""
    now = timezone.now()
    lease_until = now + timedelta(seconds=settings.HAVEN_EMAIL_LEASE_SECONDS)
    pending = Q(email=Notification.Email.PENDING)
    if created_before is not None:
        pending &= Q(created_at__lt=created_before)
    expired = Q(email=Notification.Email.SENDING, email_lease_until__lt=now)
    # A message that failed in this run waits for the next one.
    due = Notification.objects.filter(pending | expired).exclude(pk__in=failed)
    if post_id is not None:
        due = due.filter(post_id=post_id)
    with transaction.atomic():
        rows = list(
            due.select_for_update(skip_locked=True, of=("self",))
            .select_related("recipient", "thread", "post__author")
            .defer("thread__search_vector", "post__body", "post__body_html")
            .order_by("created_at", "id")[:batch]
        )
        # An expired lease whose worker died on the last allowed attempt: give up on it.
        spent = [n.pk for n in rows if n.email_attempts >= settings.HAVEN_EMAIL_MAX_ATTEMPTS]
        Notification.objects.filter(pk__in=spent).update(
            email=Notification.Email.FAILED, email_lease_until=None
        )
        claimed = [n for n in rows if n.pk not in spent]
        Notification.objects.filter(pk__in=[n.pk for n in claimed]).update(
            email=Notification.Email.SENDING,
            email_lease_until=lease_until,
            email_attempts=F("email_attempts") + 1,
        )
    for notification in claimed:
        notification.email_attempts += 1
    return claimed, lease_until


def _finish(notification: Notification, lease_until: datetime, **fields: object) -> bool:
    """Update a row this worker claimed, if it still holds the claim.

    A worker that outlived its lease may find the row claimed again by another: then this
    changes nothing (the other worker owns the row now) and answers False.
    """
    return bool(
        Notification.objects.filter(
            pk=notification.pk, email=Notification.Email.SENDING, email_lease_until=lease_until
        ).update(email_lease_until=None, **fields)
    )


def _mark_sent(notification: Notification, lease_until: datetime) -> bool:
    return _finish(
        notification, lease_until, email=Notification.Email.SENT, emailed_at=timezone.now()
    )


def _mark_failed_attempt(notification: Notification, lease_until: datetime) -> bool:
    """A mail error: try again at the next run, or give up after the last attempt."""
    gave_up = notification.email_attempts >= settings.HAVEN_EMAIL_MAX_ATTEMPTS
    return _finish(
        notification,
        lease_until,
        email=Notification.Email.FAILED if gave_up else Notification.Email.PENDING,
    )


def _release(ids: list[int], lease_until: datetime) -> None:
    """Hand back claimed rows that were not tried: pending again, the attempt not counted.

    Only rows still under this claim: one another worker has claimed since stays its own.
    """
    Notification.objects.filter(
        pk__in=ids, email=Notification.Email.SENDING, email_lease_until=lease_until
    ).update(
        email=Notification.Email.PENDING,
        email_lease_until=None,
        email_attempts=F("email_attempts") - 1,
    )


def _close_quietly(connection: BaseEmailBackend) -> None:
    try:
        connection.close()
    except _MAIL_ERRORS:
        logger.info("the mail server connection did not close cleanly", exc_info=True)


def _send_claimed(
    rows: list[Notification], lease_until: datetime, failed: set[int]
) -> tuple[int, bool]:
    """Send leased rows one by one; returns (emails sent, whether the mail server failed).

    Rows that failed are added to ``failed``.

    A mail server that cannot be reached sent nothing: every row goes back uncounted, so an
    outage of any length never uses up a message's attempts. Only mail errors once connected
    count as a failed attempt. Anything else (Celery's ``SoftTimeLimitExceeded``, a database
    error) propagates once the rows not yet done are released. A worker that finds its
    lease taken over (it outlived it) stops: the rest belong to the new claim.
    """
    domain = urlsplit(f"//{Site.objects.get_current().domain}").hostname or "haven.invalid"
    connection = get_connection()
    connected = False
    done: set[int] = set()
    sent = 0
    server_failing = False
    try:
        for notification in rows:
            if lease_until - timezone.now() < smtp_conversation_time():
                if not done:  # a fresh lease that fits no message: claiming again is futile
                    raise ImproperlyConfigured(
                        "HAVEN_EMAIL_LEASE_SECONDS is shorter than one SMTP conversation "
                        "(forum.E001)"
                    )
                break  # the lease could expire mid-message: leave the rest to a new claim
            if not connected:
                try:
                    connection.open()
                except _MAIL_ERRORS:  # nothing was sent: the rest go back uncounted
                    logger.warning("the mail server cannot be reached", exc_info=True)
                    server_failing = True
                    break
                connected = True
            try:
                message = _notification_email(notification, domain=domain)
                message.connection = connection
                message.send()
            except _MAIL_ERRORS as error:
                logger.warning("email for notification %s failed", notification.pk, exc_info=True)
                held = _mark_failed_attempt(notification, lease_until)
                done.add(notification.pk)
                failed.add(notification.pk)
                # A refusal can end the session too (421): the next message opens a new one.
                _close_quietly(connection)
                connected = False
                if not isinstance(error, _REFUSED):
                    server_failing = True
                    break
            else:
                held = _mark_sent(notification, lease_until)
                done.add(notification.pk)
                sent += 1
            if not held:
                logger.warning(
                    "the lease on notification %s ran out and another run claimed it",
                    notification.pk,
                )
                break
    finally:
        _close_quietly(connection)
        _release([n.pk for n in rows if n.pk not in done], lease_until)
    return sent, server_failing


def notification_emails_send(
    *, post_id: int | None = None, created_before: datetime | None = None, batch: int = 100
) -> int:
    """Send the emails the outbox owes: for one post, or every one older than a time.

    Rows are claimed on a lease (see the module docstring), so two workers, a job and the
    periodic sweep, or two overlapping beats never send the same email twice. Only the
    message in flight can go twice: when its worker is killed, cut off by a time limit,
    outlives its lease, or loses the database between handing it to the mail server and
    marking it sent.
    Rows left ``sending`` by a dead worker are taken again only once their lease expired.
    A message the mail server fails once connected is retried by later runs until
    ``HAVEN_EMAIL_MAX_ATTEMPTS``; then it is marked ``failed``. A mail server that cannot be
    reached uses up no attempt. Returns how many were sent.
    """
    sent = 0
    failed: set[int] = set()
    while True:
        rows, lease_until = _claim(
            post_id=post_id, created_before=created_before, batch=batch, failed=failed
        )
        if not rows:
            return sent
        sent_now, server_failing = _send_claimed(rows, lease_until, failed)
        sent += sent_now
        if server_failing:
            return sent  # the mail server is failing: a later run tries again
