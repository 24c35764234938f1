from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from forum.fanout import fan_out, fan_out_unfanned
from forum.outbox import notification_emails_send
from forum.search import search_changes_fold
from forum.services import thread_counts_fold


@shared_task(acks_late=True, max_retries=5, autoretry_for=(Exception,), retry_backoff=5)
def deliver_notification_emails(*, post_id: int) -> int:
    """Email the followers notified about one post. Safe to run twice: sent rows are skipped.

    A time limit (``SoftTimeLimitExceeded``) is not swallowed: the unsent rows go back to
    pending and the task is retried, carrying on where it stopped.
    """
    return notification_emails_send(post_id=post_id)


@shared_task(acks_late=True)
def resend_pending_notification_emails() -> int:
    """Periodic sweep of the outbox: whatever a lost job or a mail outage left pending, and
    what a dead worker left ``sending`` once its lease has expired.

    Safe when two beats overlap (or the sweep meets a post's own job): rows are claimed with
    ``SELECT ... FOR UPDATE SKIP LOCKED`` onto a lease, so no email is claimed twice.
    """
    return notification_emails_send(created_before=timezone.now() - timedelta(minutes=2))


@shared_task(acks_late=True, max_retries=5, autoretry_for=(Exception,), retry_backoff=5)
def fan_out_post(*, post_id: int) -> int:
    """Tell a post's readers about it and index it (``forum.fanout.fan_out``). Safe to run
    twice, or twice at once: nothing is written twice. A time limit is retried and carries
    on where it stopped (the chunks written are skipped)."""
    return fan_out(post_id=post_id)


@shared_task(acks_late=True)
def fan_out_unfanned_posts() -> int:
    """Periodic sweep of the posts' outbox: the posts a lost job (a broker outage, a dead
    worker) left unfanned. Safe when two beats overlap (``forum.fanout.fan_out_unfanned``)."""
    return fan_out_unfanned()


@shared_task(acks_late=True)
def fold_count_logs() -> int:
    """Periodic: fold the two logs readers sum into one row each, so they stay short: the
    thread lists' counts (``forum.services.thread_counts_fold``) and the search generation
    (``forum.search.search_changes_fold``). Safe when two beats overlap, or redelivered:
    each change is folded once, each sum unchanged. Returns the rows folded."""
    return thread_counts_fold() + search_changes_fold()
