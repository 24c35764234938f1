"""Start-up checks of the outbox's settings (``manage.py check``, ``migrate``, ``runserver``)."""

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error

from forum.outbox import smtp_conversation_time


def check_email_lease(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    """A claimed email's lease outlives any task that could hold it.

    The sweep takes over a ``sending`` row once its lease has expired; were the lease shorter
    than the task time limit, a slow but living worker could still be sending it.
    """
    lease = settings.HAVEN_EMAIL_LEASE_SECONDS
    floor = max(settings.CELERY_TASK_TIME_LIMIT or 0, smtp_conversation_time().total_seconds())
    if lease > floor:
        return []
    return [
        Error(
            f"HAVEN_EMAIL_LEASE_SECONDS ({lease}) must exceed CELERY_TASK_TIME_LIMIT and the "
            f"time one SMTP conversation may take ({floor:g} s).",
            id="forum.E001",
        )
    ]


def check_fanout_batch(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    """Fan-out writes notifications ``HAVEN_FANOUT_BATCH`` recipients at a time: a batch of
    none would write nothing, ever (``forum.fanout``)."""
    batch = settings.HAVEN_FANOUT_BATCH
    if isinstance(batch, int) and batch >= 1:
        return []
    return [
        Error(
            f"HAVEN_FANOUT_BATCH ({batch!r}) must be a whole number of at least 1.",
            id="forum.E002",
        )
    ]
