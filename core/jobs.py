"""Sending Celery jobs from a write: after the commit, and never at the cost of the write.

A job published inside an open transaction could run before its rows exist, or for rows that
are then rolled back; so jobs go out on commit. If the broker is unreachable the write has
still succeeded: the failure is logged, and whatever must not be lost is kept as a row that a
periodic job re-sends (the outbox), or, with ``inline_if_broker_down``, done in-process.
"""

import logging
from typing import Any

from celery import Task
from django.db import transaction
from kombu.exceptions import OperationalError

logger = logging.getLogger(__name__)


def enqueue_on_commit(
    task: Task, *args: Any, inline_if_broker_down: bool = False, **kwargs: Any
) -> None:
    def publish() -> None:
        try:
            task.apply_async(args=args, kwargs=kwargs)
        except OperationalError:
            if not inline_if_broker_down:
                logger.warning("broker unreachable: %s not queued", task.name, exc_info=True)
                return
            logger.warning("broker unreachable: running %s in-process", task.name)
            task.apply(args=args, kwargs=kwargs)

    transaction.on_commit(publish, robust=True)
