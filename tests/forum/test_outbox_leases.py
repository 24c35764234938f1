"""The outbox sends on leases: claimed in a short transaction, sent outside it, marked one by one.

These tests break it in-process (a time limit, a slow server, a refused recipient, two sweeps
at once); tests/forum/test_outbox_worker_kill.py kills a real worker in the middle of a batch.
"""

import smtplib
import threading
from datetime import timedelta

import pytest
import time_machine
from celery.exceptions import Retry, SoftTimeLimitExceeded
from django.core import mail
from django.core.exceptions import ImproperlyConfigured
from django.core.mail import EmailMessage
from django.db import connection
from django.db.models import F
from django.utils import timezone

from forum.checks import check_email_lease
from forum.models import Notification, Subscription
from forum.outbox import notification_emails_send
from forum.tasks import deliver_notification_emails, resend_pending_notification_emails
from tests.factories import UserFactory, make_reply, make_thread
from tests.servers import SmtpSink
from tests.utils import closed_port

pytestmark = pytest.mark.django_db

_send = EmailMessage.send


def pending_notifications(count: int) -> list[Notification]:
    """A reply to a thread with ``count`` followers: that many emails owed, none sent yet.

    The test's transaction never commits, so the reply's own email job never runs.
    """
    thread = make_thread(author=UserFactory())
    Subscription.objects.bulk_create(
        Subscription(user=UserFactory(), thread=thread) for _ in range(count)
    )
    make_reply(author=UserFactory(), thread=thread, body="A reply")
    rows = list(Notification.objects.filter(post__thread=thread, email="pending").order_by("pk"))
    assert len(rows) == count + 1  # the followers and the thread's author
    return rows


def message_ids() -> list[str]:
    return [m.extra_headers["Message-ID"] for m in mail.outbox]


def state(pk: int) -> tuple[str, int]:
    row = Notification.objects.get(pk=pk)
    return row.email, row.email_attempts


def test_every_email_carries_a_message_id_that_a_resend_repeats():
    (first, *_) = pending_notifications(0)
    assert notification_emails_send(post_id=first.post_id) == 1
    # The demo Site's domain is "127.0.0.1:8000": a Message-ID names the host alone.
    assert message_ids() == [f"<notification-{first.pk}@127.0.0.1>"]
    assert mail.outbox[0].message()["Message-ID"] == f"<notification-{first.pk}@127.0.0.1>"

    Notification.objects.filter(pk=first.pk).update(email="pending")
    notification_emails_send(post_id=first.post_id)
    assert message_ids() == [f"<notification-{first.pk}@127.0.0.1>"] * 2


def test_a_time_limit_propagates_and_releases_what_was_not_sent(monkeypatch):
    rows = pending_notifications(4)
    calls = []

    def send_until_the_time_limit(self, *args, **kwargs):
        calls.append(self)
        if len(calls) == 3:
            raise SoftTimeLimitExceeded()
        return _send(self, *args, **kwargs)

    monkeypatch.setattr(EmailMessage, "send", send_until_the_time_limit)
    with pytest.raises(SoftTimeLimitExceeded):
        notification_emails_send(post_id=rows[0].post_id)

    assert [state(n.pk) for n in rows] == [
        ("sent", 1),
        ("sent", 1),
        # Interrupted, and the two never tried: pending again, no attempt counted.
        ("pending", 0),
        ("pending", 0),
        ("pending", 0),
    ]
    monkeypatch.setattr(EmailMessage, "send", _send)
    assert notification_emails_send(post_id=rows[0].post_id) == 3
    assert sorted(message_ids()) == sorted(f"<notification-{n.pk}@127.0.0.1>" for n in rows)


def test_only_mail_errors_count_as_failed_attempts(monkeypatch):
    rows = pending_notifications(1)

    def broken(self, *args, **kwargs):
        raise ValueError("a bug, not the mail server")

    monkeypatch.setattr(EmailMessage, "send", broken)
    with pytest.raises(ValueError, match="a bug"):
        notification_emails_send(post_id=rows[0].post_id)
    assert [state(n.pk) for n in rows] == [("pending", 0), ("pending", 0)]


def test_a_refused_recipient_does_not_hold_back_the_others(monkeypatch):
    rows = pending_notifications(2)
    refused = rows[1].recipient.email

    def refuse_one(self, *args, **kwargs):
        if self.to == [refused]:
            raise smtplib.SMTPRecipientsRefused({refused: (550, b"No such user")})
        return _send(self, *args, **kwargs)

    monkeypatch.setattr(EmailMessage, "send", refuse_one)
    assert notification_emails_send(post_id=rows[0].post_id) == 2
    assert [state(n.pk) for n in rows] == [("sent", 1), ("pending", 1), ("sent", 1)]


def test_a_worker_never_sends_on_a_lease_that_could_expire_mid_message(settings, monkeypatch):
    """Each message takes 15 s; one conversation may take 20 s; a lease lasts 60 s."""
    settings.HAVEN_EMAIL_LEASE_SECONDS = 60
    settings.EMAIL_TIMEOUT = 5  # four replies of at most 5 s: 20 s per message
    rows = pending_notifications(4)
    seen = []

    with time_machine.travel(timezone.now(), tick=False) as clock:

        def slow_server(self, *args, **kwargs):
            pk = int(self.extra_headers["Message-ID"].split("-")[1].split("@")[0])
            seen.append((timezone.now(), Notification.objects.get(pk=pk).email_lease_until))
            clock.shift(timedelta(seconds=15))
            return _send(self, *args, **kwargs)

        monkeypatch.setattr(EmailMessage, "send", slow_server)
        assert notification_emails_send(post_id=rows[0].post_id) == 5

    assert all(now + timedelta(seconds=20) <= lease_until for now, lease_until in seen)
    # Three messages fit in the first lease; the rest went back and were claimed again,
    # each attempt counted once.
    assert len({lease_until for _, lease_until in seen}) == 2
    assert [state(n.pk) for n in rows] == [("sent", 1)] * 5


def test_the_sweep_takes_over_only_expired_leases(settings):
    settings.HAVEN_EMAIL_LEASE_SECONDS = 300
    rows = pending_notifications(1)
    long_ago = timezone.now() - timedelta(minutes=10)
    # A worker claimed them a minute ago and died (SIGKILL): they stay "sending".
    Notification.objects.filter(pk__in=[n.pk for n in rows]).update(
        created_at=long_ago,
        email="sending",
        email_attempts=1,
        email_lease_until=timezone.now() + timedelta(minutes=4),
    )
    assert resend_pending_notification_emails() == 0
    assert mail.outbox == []

    with time_machine.travel(timezone.now() + timedelta(minutes=5)):
        assert resend_pending_notification_emails() == 2
    assert [state(n.pk) for n in rows] == [("sent", 2), ("sent", 2)]


def test_an_expired_lease_on_the_last_attempt_is_given_up(settings):
    settings.HAVEN_EMAIL_MAX_ATTEMPTS = 3
    (row, author_row) = pending_notifications(1)
    Notification.objects.filter(pk=row.pk).update(
        email="sending", email_attempts=3, email_lease_until=timezone.now() - timedelta(seconds=1)
    )
    assert notification_emails_send(post_id=row.post_id) == 1  # the other, pending one
    assert state(row.pk) == ("failed", 3)
    assert message_ids() == [f"<notification-{author_row.pk}@127.0.0.1>"]


@pytest.mark.django_db(transaction=True)
def test_two_overlapping_sweeps_send_each_email_once(monkeypatch):
    """Two beats (or a job and the sweep) at once: SKIP LOCKED leases keep them apart."""
    # The jobs are lost: the reply's fan-out (run by hand below) and its email job.
    monkeypatch.setattr("forum.services.enqueue_on_commit", lambda *a, **k: None)
    monkeypatch.setattr("forum.fanout.enqueue_on_commit", lambda *a, **k: None)
    rows = pending_notifications(39)
    Notification.objects.update(created_at=timezone.now() - timedelta(minutes=10))
    senders: dict[str, str] = {}

    def slow_send(self, *args, **kwargs):
        senders.setdefault(self.extra_headers["Message-ID"], threading.current_thread().name)
        threading.Event().wait(0.005)
        return _send(self, *args, **kwargs)

    monkeypatch.setattr(EmailMessage, "send", slow_send)
    results: list[int] = []

    def sweep() -> None:
        try:
            results.append(notification_emails_send(created_before=timezone.now(), batch=5))
        finally:
            connection.close()

    sweeps = [threading.Thread(target=sweep, name=f"beat-{i}") for i in range(2)]
    for t in sweeps:
        t.start()
    for t in sweeps:
        t.join()

    assert sum(results) == len(rows) == 40
    assert sorted(message_ids()) == sorted(set(message_ids()))
    assert len(message_ids()) == 40
    assert set(senders.values()) == {"beat-0", "beat-1"}  # they did overlap
    assert Notification.objects.filter(email="sent", email_attempts=1).count() == 40


def test_a_lease_shorter_than_the_task_time_limit_is_refused(settings):
    assert check_email_lease(None) == []
    settings.CELERY_TASK_TIME_LIMIT = 90
    settings.HAVEN_EMAIL_LEASE_SECONDS = 90
    [error] = check_email_lease(None)
    assert error.id == "forum.E001"
    settings.EMAIL_TIMEOUT = 30  # one conversation may take 120 s: more than the time limit
    settings.HAVEN_EMAIL_LEASE_SECONDS = 100
    assert [e.id for e in check_email_lease(None)] == ["forum.E001"]


def test_a_lease_too_short_for_one_message_stops_instead_of_claiming_forever(settings):
    """Workers skip the start-up checks: a lease that fits no message must not spin."""
    settings.HAVEN_EMAIL_LEASE_SECONDS = 3
    settings.EMAIL_TIMEOUT = 1
    rows = pending_notifications(1)
    with pytest.raises(ImproperlyConfigured, match="HAVEN_EMAIL_LEASE_SECONDS"):
        notification_emails_send(post_id=rows[0].post_id)
    assert [state(n.pk) for n in rows] == [("pending", 0), ("pending", 0)]
    assert mail.outbox == []


def test_a_job_cut_off_by_its_time_limit_is_retried_and_carries_on(monkeypatch):
    rows = pending_notifications(3)
    calls = []

    def time_limit_on_the_second(self, *args, **kwargs):
        calls.append(self)
        if len(calls) == 2:
            raise SoftTimeLimitExceeded()
        return _send(self, *args, **kwargs)

    monkeypatch.setattr(EmailMessage, "send", time_limit_on_the_second)
    with pytest.raises(Retry):  # eager here; a worker runs the retry after its countdown
        deliver_notification_emails.apply(kwargs={"post_id": rows[0].post_id})
    assert [state(n.pk) for n in rows] == [("sent", 1)] + [("pending", 0)] * 3
    deliver_notification_emails.apply(kwargs={"post_id": rows[0].post_id})  # the retry
    assert [state(n.pk) for n in rows] == [("sent", 1)] * 4
    assert len(message_ids()) == 4


def test_a_mail_server_that_cannot_be_reached_uses_up_no_attempts(settings):
    """SMTP refused run after run, longer than the attempts allow: nothing is given up."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", closed_port()
    settings.HAVEN_EMAIL_MAX_ATTEMPTS = 3
    rows = pending_notifications(2)
    for _ in range(settings.HAVEN_EMAIL_MAX_ATTEMPTS + 2):
        assert notification_emails_send(post_id=rows[0].post_id) == 0
    assert [state(n.pk) for n in rows] == [("pending", 0)] * 3

    with SmtpSink() as sink:
        settings.EMAIL_PORT = sink.controller.port
        assert notification_emails_send(post_id=rows[0].post_id) == 3
    assert sink.copies() == {f"<notification-{n.pk}@127.0.0.1>": 1 for n in rows}
    assert [state(n.pk) for n in rows] == [("sent", 1)] * 3


@pytest.mark.parametrize("outcome", ["accepted", "refused", "time limit"])
def test_a_worker_that_outlived_its_lease_changes_nothing_another_has_claimed(monkeypatch, outcome):
    """Its lease ran out mid-message (a pause, a slow server) and a sweep claimed the rows."""
    rows = pending_notifications(2)
    theirs = timezone.now() + timedelta(minutes=10)

    def reclaimed_meanwhile(self, *args, **kwargs):
        Notification.objects.filter(pk__in=[n.pk for n in rows]).update(
            email="sending", email_lease_until=theirs, email_attempts=F("email_attempts") + 1
        )
        if outcome == "refused":
            raise smtplib.SMTPRecipientsRefused({self.to[0]: (550, b"No such user")})
        if outcome == "time limit":
            raise SoftTimeLimitExceeded()
        return _send(self, *args, **kwargs)

    monkeypatch.setattr(EmailMessage, "send", reclaimed_meanwhile)
    if outcome == "time limit":
        with pytest.raises(SoftTimeLimitExceeded):
            notification_emails_send(post_id=rows[0].post_id)
    else:
        notification_emails_send(post_id=rows[0].post_id)

    # Still the other claim's, as it left them; and no message after the one in flight.
    assert [
        (row.email, row.email_lease_until, row.email_attempts)
        for row in Notification.objects.filter(pk__in=[n.pk for n in rows]).order_by("pk")
    ] == [("sending", theirs, 2)] * 3
    assert len(mail.outbox) == (1 if outcome == "accepted" else 0)


class _ClosingOnOneRecipient(SmtpSink):
    """A mail server that refuses one recipient with 421, which ends the SMTP session."""

    def __init__(self, refused: str) -> None:
        super().__init__()
        self.refused = refused

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:
        if address == self.refused:
            return "421 Too busy for this one, closing the connection"
        envelope.rcpt_tos.append(address)
        return "250 OK"


def test_a_refusal_that_ends_the_session_costs_the_next_messages_nothing(settings):
    rows = pending_notifications(2)
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    with _ClosingOnOneRecipient(refused=rows[0].recipient.email) as sink:
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", sink.controller.port
        assert notification_emails_send(post_id=rows[0].post_id) == 2
    assert [state(n.pk) for n in rows] == [("pending", 1), ("sent", 1), ("sent", 1)]
    assert sink.count() == 2
