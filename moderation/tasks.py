from celery import shared_task

from moderation.alerts import (
    review_digest_send,
    review_queue_remind,
    staff_summary_send,
    urgent_alert_send,
    urgent_alerts_sweep,
)
from moderation.answers import nurse_sla_remind
from moderation.services import resources_overdue_alert


@shared_task(acks_late=True)
def remind_nurses_of_overdue_questions() -> int:
    """Every 15 minutes: questions past the service level, each level reminded once."""
    return nurse_sla_remind()


@shared_task(acks_late=True)
def alert_overdue_information_pages() -> int:
    return resources_overdue_alert()


@shared_task(acks_late=True)
def alert_urgent_review(*, review_item_id: int) -> int:
    """Alert every moderator of an urgent review item at once (in-app and email)."""
    return int(urgent_alert_send(review_item_id=review_item_id, number=1))


@shared_task(acks_late=True)
def realert_urgent_reviews() -> int:
    """Every minute: re-alert unclaimed urgent items; send first alerts whose job was lost."""
    return urgent_alerts_sweep()


@shared_task(acks_late=True)
def send_review_digest() -> int:
    """Hourly: new non-urgent review items, one email per moderator."""
    return review_digest_send()


@shared_task(acks_late=True)
def remind_moderators_of_waiting_reviews() -> int:
    """Hourly, sending at most once a day: review items waiting too long."""
    return review_queue_remind()


@shared_task(acks_late=True)
def send_daily_staff_summary() -> int:
    return staff_summary_send()
