"""Telling staff about the review queue: urgent alerts, the hourly digest, reminders, summary.

Every alert is claimed by a row before it is sent, so a redelivered job, a job racing the
sweep, or two overlapping beats send it once:

- An urgent item's alerts are numbered (``ReviewItem.alerts_sent``). Alert *n* is sent
  under the item's row lock only when *n - 1* were sent, with a ``StaffAlert`` unique on
  ``<item>/<n>`` and notifications unique per (moderator, kind, post, n). Out of the
  moderation team's hours the alert also owes the on-call address an email, recorded on
  that row and sent after the commit (a sweep resends it if the mail server failed).
- The digest (per hour), the queue reminder and the admins' summary (per day) are each a
  ``StaffAlert`` of their period, committed before the email leaves; if the mail server
  refuses it the claim is withdrawn so the next run sends it (as the review-date alert).

Emails name the thread and counts, never a post's text or the member who wrote it.
"""

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import cast

from django.conf import settings
from django.core.mail import EmailMessage, send_mail
from django.db import IntegrityError, transaction
from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from accounts.roles import Role
from forum.models import Notification
from forum.outbox import URGENT_HEADERS
from forum.services import notify_users
from moderation.answers import unanswered_questions
from moderation.models import Flag, InformationResource, ReviewItem, StaffAlert, SupportService
from moderation.opening_hours import OpeningHours
from moderation.queue import claim_is_live, live_claim

logger = logging.getLogger(__name__)


def moderators() -> QuerySet[User]:
    return User.objects.filter(role=Role.MODERATOR, is_active=True)


def moderation_hours() -> OpeningHours | None:
    """The moderation team's hours: those of the service named in the settings."""
    service = SupportService.objects.filter(key=settings.HAVEN_MODERATION_HOURS_SERVICE).first()
    return service.opening_hours if service else None


def moderators_on_duty(now: datetime) -> bool:
    """Whether the moderation team is working at ``now``. With no hours configured the
    answer is no: a safeguarding alert errs towards waking the on-call address."""
    hours = moderation_hours()
    return bool(hours and hours.is_open(now))


def _queue_link(item: ReviewItem | None = None) -> str:
    """The review queue's page, or one item's, as an address an email can carry."""
    if item is None:
        return settings.FRONTEND_URL + reverse("mod:queue")
    return settings.FRONTEND_URL + reverse("mod:item", kwargs={"item_id": item.pk})


# --- Urgent alerts ----------------------------------------------------------------------


def urgent_alert_send(*, review_item_id: int, number: int, now: datetime | None = None) -> bool:
    """Send alert ``number`` of an urgent item (1 the first, then re-alerts); False if not due.

    Due only while the item is pending, urgent and under no claim in force (a claim lapses
    after ``HAVEN_REVIEW_CLAIM_MINUTES``), and when exactly
    ``number - 1`` alerts went before: a redelivered job (or the sweep racing it) finds the
    number taken and sends nothing. Every active moderator gets a high-priority in-app
    notification and an email marked urgent; out of the moderation team's hours the
    on-call address (``HAVEN_ONCALL_EMAIL``) is emailed too.
    """
    now = now or timezone.now()
    with transaction.atomic():
        item = (
            ReviewItem.objects.select_for_update(of=("self",))
            .select_related("post", "thread")
            .filter(pk=review_item_id)
            .first()
        )
        if (
            item is None
            or item.status != ReviewItem.Status.PENDING
            or not item.urgent
            or claim_is_live(item, now=now)
            or item.alerts_sent != number - 1
        ):
            return False
        oncall = settings.HAVEN_ONCALL_EMAIL if not moderators_on_duty(now) else ""
        try:
            with transaction.atomic():
                alert = StaffAlert.objects.create(
                    kind=StaffAlert.Kind.URGENT,
                    period=f"{item.pk}/{number}",
                    review_item=item,
                    sent_at=now,
                    oncall_email=oncall,
                )
        except IntegrityError:
            return False  # belt and braces behind the row lock
        ReviewItem.objects.filter(pk=item.pk).update(alerts_sent=number)
        team = moderators()
        notify_users(
            recipients=team,
            thread=item.thread,
            post=item.post,
            kind=Notification.Kind.URGENT_REVIEW,
            actor=None,
            high_priority_for=team.values_list("pk", flat=True),
            email_always=True,
            sequence=number,
        )
        if oncall:
            transaction.on_commit(lambda: oncall_email_send(alert_id=alert.pk), robust=True)
    return True


def oncall_email_send(*, alert_id: int) -> bool:
    """Email the on-call address about an urgent alert, once: claimed by a committed update,
    withdrawn if the mail server refuses it (the sweep tries again)."""
    claimed = StaffAlert.objects.filter(
        pk=alert_id, oncall_sent_at__isnull=True, oncall_email__gt=""
    ).update(oncall_sent_at=timezone.now())
    if not claimed:
        return False
    alert = StaffAlert.objects.select_related("review_item__thread").get(pk=alert_id)
    item = cast(ReviewItem, alert.review_item)  # urgent alerts always have their item
    number = alert.period.rpartition("/")[2]
    again = "" if number == "1" else f" (alert {number}: still unclaimed)"
    message = EmailMessage(
        subject=f"[URGENT] Safeguarding concern on Haven{again}",
        body=(
            "A post on Haven may be from someone at risk, and it is outside the moderation "
            f"team's hours.\n\nThread: “{item.thread.title}”\n"
            f"Review it now: {_queue_link(item)}\n\n"
            "You receive this because this address is Haven's on-call contact."
        ),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[alert.oncall_email],
        headers=URGENT_HEADERS,
    )
    try:
        message.send()
    except BaseException:
        StaffAlert.objects.filter(pk=alert_id).update(oncall_sent_at=None)
        raise
    return True


def _last_alert() -> Subquery:
    return Subquery(
        StaffAlert.objects.filter(kind=StaffAlert.Kind.URGENT, review_item=OuterRef("pk"))
        .order_by("-sent_at")
        .values("sent_at")[:1]
    )


def urgent_alerts_sweep(*, now: datetime | None = None) -> int:
    """Every minute: re-alert urgent items unclaimed ``HAVEN_URGENT_REALERT_MINUTES`` after
    their last alert; send the first alert of an item whose job was lost (no alert a minute
    after it was raised: a broker outage); resend on-call emails the mail server refused.
    Returns how many alerts were sent. Safe beside another beat: ``urgent_alert_send``."""
    now = now or timezone.now()
    realert_before = now - timedelta(minutes=settings.HAVEN_URGENT_REALERT_MINUTES)
    due = (
        ReviewItem.objects.filter(status=ReviewItem.Status.PENDING, urgent=True)
        .exclude(live_claim(now=now))
        .annotate(last_alert=_last_alert())
        .filter(
            Q(alerts_sent=0, created_at__lt=now - timedelta(minutes=1))
            | Q(alerts_sent__gt=0, last_alert__lte=realert_before)
        )
        .order_by("created_at", "id")
        .values_list("pk", "alerts_sent")
    )
    sent = sum(
        urgent_alert_send(review_item_id=pk, number=alerts + 1, now=now) for pk, alerts in due
    )
    unsent = StaffAlert.objects.filter(
        kind=StaffAlert.Kind.URGENT, oncall_sent_at__isnull=True, sent_at__lt=now
    ).exclude(oncall_email="")
    for alert_id in unsent.values_list("pk", flat=True):
        try:
            oncall_email_send(alert_id=alert_id)
        except Exception:
            logger.warning("on-call email for alert %s failed", alert_id, exc_info=True)
    return sent


# --- Digest, reminder, summary ----------------------------------------------------------


def _claim(kind: str, period: str, now: datetime) -> StaffAlert | None:
    try:
        with transaction.atomic():
            return StaffAlert.objects.create(kind=kind, period=period, sent_at=now)
    except IntegrityError:
        return None  # another beat (or an earlier run) has it


def _send_each(recipients: Iterable[str], subject: str, body: str) -> None:
    for address in recipients:
        send_mail(
            subject=subject,
            message=body,
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=[address],
        )


def _item_line(item: ReviewItem) -> str:
    reasons = ", ".join(f"{reason}: {count}" for reason, count in sorted(item.reasons.items()))
    held = ", held" if item.held else ""
    return (
        f"- #{item.pk} in “{item.thread.title}” ({reasons}{held}), "
        f"waiting since {timezone.localtime(item.created_at):%-d %b %H:%M}"
    )


def review_digest_send(*, now: datetime | None = None) -> int:
    """Hourly: one email per moderator listing the new non-urgent review items.

    Each item is in one digest (``digested_at``), the hour in one run. Returns how many
    items were told of.
    """
    now = now or timezone.now()
    team = list(moderators().values_list("email", flat=True))
    if not team:
        return 0
    with transaction.atomic():
        items = list(
            ReviewItem.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("thread")
            .filter(status=ReviewItem.Status.PENDING, urgent=False, digested_at__isnull=True)
            .order_by("created_at", "id")
        )
        if not items:
            return 0
        claim = _claim(StaffAlert.Kind.DIGEST, f"{timezone.localtime(now):%Y-%m-%dT%H}", now)
        if claim is None:
            return 0
        ReviewItem.objects.filter(pk__in=[item.pk for item in items]).update(digested_at=now)
    body = (
        f"{len(items)} new post(s) wait for review:\n\n"
        + "\n".join(map(_item_line, items))
        + f"\n\nThe queue: {_queue_link()}\n\nYou receive this because you are a moderator."
    )
    try:
        _send_each(team, f"[Haven] {len(items)} new post(s) to review", body)
    except BaseException:
        with transaction.atomic():
            ReviewItem.objects.filter(pk__in=[item.pk for item in items]).update(digested_at=None)
            claim.delete()
        raise
    return len(items)


def review_queue_remind(*, now: datetime | None = None) -> int:
    """Once a day: remind moderators of pending items older than ``HAVEN_QUEUE_REMINDER_HOURS``.

    Returns how many items the reminder named.
    """
    now = now or timezone.now()
    team = list(moderators().values_list("email", flat=True))
    old = list(
        ReviewItem.objects.select_related("thread")
        .filter(
            status=ReviewItem.Status.PENDING,
            created_at__lt=now - timedelta(hours=settings.HAVEN_QUEUE_REMINDER_HOURS),
        )
        .order_by("-urgent", "created_at", "id")
    )
    if not team or not old:
        return 0
    claim = _claim(StaffAlert.Kind.REMINDER, f"{timezone.localdate(now):%Y-%m-%d}", now)
    if claim is None:
        return 0
    body = (
        f"{len(old)} post(s) have waited more than {settings.HAVEN_QUEUE_REMINDER_HOURS} hours "
        "for review:\n\n"
        + "\n".join(map(_item_line, old))
        + f"\n\nThe queue: {_queue_link()}\n\nYou receive this because you are a moderator."
    )
    try:
        _send_each(team, f"[Haven] {len(old)} post(s) waiting for review", body)
    except BaseException:
        claim.delete()
        raise
    return len(old)


def staff_summary_counts(*, now: datetime) -> dict[str, int]:
    """The admins' daily numbers: the last 24 hours' new members and flags, and what waits."""
    since = now - timedelta(days=1)
    return {
        "new members": User.objects.filter(date_joined__gte=since, is_active=True).count(),
        "flags raised": Flag.objects.filter(created_at__gte=since).count(),
        "posts held for approval": ReviewItem.objects.filter(
            status=ReviewItem.Status.PENDING, held=True
        ).count(),
        "posts waiting for review": ReviewItem.objects.filter(
            status=ReviewItem.Status.PENDING
        ).count(),
        "unanswered nurse questions": unanswered_questions().count(),
        "information pages past review": InformationResource.objects.filter(
            next_review_due__lt=timezone.localdate(now)
        ).count(),
    }


def staff_summary_send(*, now: datetime | None = None) -> int:
    """Once a day: the admins' (active superusers') summary; returns how many were emailed."""
    now = now or timezone.now()
    admins = list(
        User.objects.filter(is_superuser=True, is_active=True).values_list("email", flat=True)
    )
    if not admins:
        return 0
    day = timezone.localdate(now)
    claim = _claim(StaffAlert.Kind.SUMMARY, f"{day:%Y-%m-%d}", now)
    if claim is None:
        return 0
    counts = staff_summary_counts(now=now)
    body = (
        f"Haven on {day:%A %-d %B %Y}:\n\n"
        + "\n".join(f"- {name}: {count}" for name, count in counts.items())
        + "\n\nYou receive this because you administer Haven."
    )
    try:
        _send_each(admins, f"[Haven] Daily summary, {day:%-d %B %Y}", body)
    except BaseException:
        claim.delete()
        raise
    return len(admins)
