"""The periodic jobs Haven runs, created once; afterwards they are the admin's to edit.

django-celery-beat's DatabaseScheduler reads the schedule from the database. Nothing here
runs when beat starts (a ``CELERY_BEAT_SCHEDULE`` setting would be written over the admin's
edits at every start): a data migration calls ``periodic_tasks_install`` once.

Every job is safe when two beats overlap: the outbox sweep claims emails with ``SKIP LOCKED``
leases, the posts' fan-out sweep writes each notification once and marks each post once
(``forum.fanout``), the count logs' fold runs one at a time, nurse reminders are unique per
question and level, the review-date alert is sent once a day, and the staff alerts are
claimed per item and number or per period (``moderation.alerts``).
"""

from datetime import timedelta
from typing import Any

from django.utils import timezone

DEFAULT_PERIODIC_TASKS = (
    (
        "resend-pending-notification-emails",
        "forum.tasks.resend_pending_notification_emails",
        timedelta(minutes=5),
    ),
    (
        "remind-nurses-of-overdue-questions",
        "moderation.tasks.remind_nurses_of_overdue_questions",
        timedelta(minutes=15),
    ),
    (
        "alert-overdue-information-pages",
        "moderation.tasks.alert_overdue_information_pages",
        timedelta(days=1),
    ),
    (
        "realert-urgent-reviews",
        "moderation.tasks.realert_urgent_reviews",
        timedelta(minutes=1),
    ),
    ("send-review-digest", "moderation.tasks.send_review_digest", timedelta(hours=1)),
    (
        "remind-moderators-of-waiting-reviews",
        "moderation.tasks.remind_moderators_of_waiting_reviews",
        timedelta(hours=1),
    ),
    ("send-daily-staff-summary", "moderation.tasks.send_daily_staff_summary", timedelta(days=1)),
    (
        "fan-out-unfanned-posts",
        "forum.tasks.fan_out_unfanned_posts",
        timedelta(minutes=1),
    ),
    ("fold-count-logs", "forum.tasks.fold_count_logs", timedelta(minutes=1)),
)


def _every(interval: timedelta) -> tuple[int, str]:
    seconds = int(interval.total_seconds())
    for period, length in (("days", 86400), ("hours", 3600), ("minutes", 60)):
        if seconds % length == 0:
            return seconds // length, period
    return seconds, "seconds"


def periodic_tasks_install(apps: Any) -> list[str]:
    """Create each default periodic task that does not exist yet, by name; returns the names.

    An existing task is never changed, whatever the admin made of it (another interval,
    disabled, renamed task); a deleted one comes back only when this runs again.
    """
    interval_schedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    periodic_task = apps.get_model("django_celery_beat", "PeriodicTask")
    periodic_tasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    created = []
    for name, task, interval in DEFAULT_PERIODIC_TASKS:
        if periodic_task.objects.filter(name=name).exists():
            continue
        every, period = _every(interval)
        schedule, _ = interval_schedule.objects.get_or_create(every=every, period=period)
        periodic_task.objects.create(name=name, task=task, interval=schedule)
        created.append(name)
    if created:
        # A running beat reloads its schedule when this marker moves (the library's own
        # signal does it for the admin's edits; migrations' historical models send none).
        periodic_tasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})
    return created
