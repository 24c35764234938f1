"""Periodic jobs are created once and stay as the admin edits them; two beats send nothing twice."""

import threading
import time
from datetime import date, timedelta

import pytest
import redis
from django.apps import apps
from django.core import mail
from django.db import connection
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from moderation.models import ReviewDateAlert
from moderation.schedules import DEFAULT_PERIODIC_TASKS, periodic_tasks_install
from moderation.services import resources_overdue_alert
from tests.factories import UserFactory
from tests.servers import RedisServer, celery_process, django_env, wait_for

SWEEP = "resend-pending-notification-emails"


@pytest.mark.django_db
def test_the_migration_created_the_default_periodic_tasks():
    tasks = {
        t.name: (t.task, t.schedule.run_every, t.enabled)
        for t in PeriodicTask.objects.select_related("interval")
    }
    assert tasks == {
        SWEEP: ("forum.tasks.resend_pending_notification_emails", timedelta(minutes=5), True),
        "remind-nurses-of-overdue-questions": (
            "moderation.tasks.remind_nurses_of_overdue_questions",
            timedelta(minutes=15),
            True,
        ),
        "alert-overdue-information-pages": (
            "moderation.tasks.alert_overdue_information_pages",
            timedelta(days=1),
            True,
        ),
        "realert-urgent-reviews": (
            "moderation.tasks.realert_urgent_reviews",
            timedelta(minutes=1),
            True,
        ),
        "send-review-digest": ("moderation.tasks.send_review_digest", timedelta(hours=1), True),
        "remind-moderators-of-waiting-reviews": (
            "moderation.tasks.remind_moderators_of_waiting_reviews",
            timedelta(hours=1),
            True,
        ),
        "send-daily-staff-summary": (
            "moderation.tasks.send_daily_staff_summary",
            timedelta(days=1),
            True,
        ),
        "fan-out-unfanned-posts": (
            "forum.tasks.fan_out_unfanned_posts",
            timedelta(minutes=1),
            True,
        ),
        "fold-count-logs": ("forum.tasks.fold_count_logs", timedelta(minutes=1), True),
    }


@pytest.mark.django_db
def test_installing_again_never_changes_what_the_admin_edited():
    thirty, _ = IntervalSchedule.objects.get_or_create(every=30, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.filter(name=SWEEP).update(interval=thirty)
    PeriodicTask.objects.filter(name="alert-overdue-information-pages").update(enabled=False)
    PeriodicTask.objects.filter(name="remind-nurses-of-overdue-questions").delete()

    assert periodic_tasks_install(apps) == ["remind-nurses-of-overdue-questions"]
    assert periodic_tasks_install(apps) == []
    assert PeriodicTask.objects.get(name=SWEEP).schedule.run_every == timedelta(seconds=30)
    assert not PeriodicTask.objects.get(name="alert-overdue-information-pages").enabled
    assert PeriodicTask.objects.count() == len(DEFAULT_PERIODIC_TASKS)


def published_sweeps(client: redis.Redis) -> int:
    """Jobs beat has sent to the queue (the queue is a Redis list named after it)."""
    return int(client.llen("haven-test"))


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_an_edited_schedule_survives_beat_restarts(tmp_path):
    periodic_tasks_install(apps)  # transactional tests empty every table, migrations' rows too
    thirty, _ = IntervalSchedule.objects.get_or_create(every=30, period=IntervalSchedule.SECONDS)
    sweep = PeriodicTask.objects.get(name=SWEEP)
    sweep.interval = thirty  # as the admin does: saved through the model, beat's signal fires
    sweep.save()
    broker = RedisServer(tmp_path)
    broker.start()
    client = redis.Redis.from_url(broker.url)
    env = django_env(redis_url=broker.url)
    try:
        for run in range(2):
            # Last run long ago: the sweep is due as soon as beat has read the schedule.
            PeriodicTask.objects.filter(name=SWEEP).update(
                last_run_at=timezone.now() - timedelta(hours=1)
            )
            client.delete("haven-test")
            beat = celery_process(
                ["beat", "--schedule", str(tmp_path / "beat-schedule")],
                env,
                tmp_path / f"beat-{run}.log",
            )
            try:
                wait_for(lambda: published_sweeps(client) >= 1, 30, f"beat {run} sending the sweep")
            finally:
                beat.stop()
            assert "resend-pending-notification-emails" in beat.output()
            sweep = PeriodicTask.objects.select_related("interval").get(name=SWEEP)
            assert sweep.schedule.run_every == timedelta(seconds=30), f"after beat {run}"
            assert PeriodicTask.objects.filter(task=sweep.task).count() == 1
            assert PeriodicTask.objects.count() == len(DEFAULT_PERIODIC_TASKS)
    finally:
        client.close()
        broker.stop()


@pytest.fixture
def overdue_page(ask_our_nurses):
    UserFactory(display_name="Site Admin", email="admin@haven.test", is_superuser=True)
    return date(2026, 11, 22)


@pytest.mark.django_db
def test_the_review_date_alert_goes_once_a_day(overdue_page):
    assert resources_overdue_alert(today=overdue_page) == 1
    assert resources_overdue_alert(today=overdue_page) == 0  # a second beat, later that day
    assert resources_overdue_alert(today=overdue_page + timedelta(days=1)) == 1
    assert len(mail.outbox) == 2


@pytest.mark.django_db
def test_a_refused_review_date_alert_is_sent_by_a_later_run(overdue_page, monkeypatch):
    def refuse(*args, **kwargs):
        raise ConnectionRefusedError("mail server down")

    monkeypatch.setattr("moderation.services.send_mail", refuse)
    with pytest.raises(ConnectionRefusedError):
        resources_overdue_alert(today=overdue_page)
    assert not ReviewDateAlert.objects.exists()
    monkeypatch.undo()
    assert resources_overdue_alert(today=overdue_page) == 1
    assert len(mail.outbox) == 1


@pytest.mark.django_db(transaction=True)
def test_two_overlapping_beats_send_the_review_date_alert_once(overdue_page, monkeypatch):
    from django.core.mail import send_mail as real_send_mail

    def slow_send_mail(*args, **kwargs):
        time.sleep(0.2)  # the first beat is still sending when the second one runs
        return real_send_mail(*args, **kwargs)

    monkeypatch.setattr("moderation.services.send_mail", slow_send_mail)
    results: list[int] = []

    def beat() -> None:
        try:
            results.append(resources_overdue_alert(today=overdue_page))
        finally:
            connection.close()

    beats = [threading.Thread(target=beat) for _ in range(2)]
    for t in beats:
        t.start()
    for t in beats:
        t.join()
    assert sorted(results) == [0, 1]
    assert len(mail.outbox) == 1
