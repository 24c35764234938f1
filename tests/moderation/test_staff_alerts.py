"""Staff alerts: urgent at once (and on call out of hours), re-alerts, digest, reminder, summary.

Each is sent once per item and number or per period, however often the job runs.
"""

import itertools
import re
from datetime import datetime, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.db import transaction
from django.test import Client

from accounts.roles import Role
from forum.models import Notification, Post
from forum.policy import Screening
from moderation.alerts import (
    oncall_email_send,
    review_digest_send,
    review_queue_remind,
    staff_summary_send,
    urgent_alert_send,
    urgent_alerts_sweep,
)
from moderation.models import ReviewItem, StaffAlert
from moderation.review import review_raise
from moderation.safeguarding import screening_raised
from moderation.safeguarding_defaults import MODERATION_TEAM
from moderation.services import support_service_ensure
from moderation.tasks import alert_urgent_review
from tests.factories import UserFactory, make_thread
from tests.utils import race, wait_until

LONDON = ZoneInfo("Europe/London")
MONDAY_10AM = datetime(2026, 11, 23, 10, 0, tzinfo=LONDON)
SATURDAY_2AM = datetime(2026, 11, 21, 2, 0, tzinfo=LONDON)
ONCALL = "on-call@haven.test"


@pytest.fixture
def team(db):
    return [
        UserFactory(role=Role.MODERATOR, email="mod.one@haven.test"),
        UserFactory(role=Role.MODERATOR, email="mod.two@haven.test"),
    ]


@pytest.fixture
def oncall(settings):
    settings.HAVEN_ONCALL_EMAIL = ONCALL


_authors = itertools.count()


def _post(title: str = "A hard week") -> Post:
    author = UserFactory(display_name=f"Wren {next(_authors)}")
    thread = make_thread(author=author, title=title)
    return Post.objects.get(thread=thread)


def _urgent_item(at: datetime) -> ReviewItem:
    """An urgent item whose alert job never ran (lost, or not delivered yet)."""
    with time_machine.travel(at, tick=False):
        post = _post()
        item = review_raise(post=post, reasons=["safeguarding"])
    ReviewItem.objects.filter(pk=item.pk).update(urgent=True)
    item.refresh_from_db()
    return item


def _oncall_emails() -> list[mail.EmailMessage]:
    return [m for m in mail.outbox if m.to == [ONCALL]]


def _urgent_emails() -> list[mail.EmailMessage]:
    return [m for m in mail.outbox if m.subject.startswith("[URGENT] Safeguarding concern in")]


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Runs what waits for the commit (the email jobs) as a real commit would."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.mark.django_db
def test_in_hours_every_moderator_is_alerted_and_the_on_call_address_is_not(
    team, oncall, committed
):
    item = _urgent_item(MONDAY_10AM)
    with time_machine.travel(MONDAY_10AM), committed():
        assert urgent_alert_send(review_item_id=item.pk, number=1)
    alerts = Notification.objects.filter(kind="urgent_review")
    assert {(n.recipient, n.priority, n.sequence) for n in alerts} == {
        (moderator, "high", 1) for moderator in team
    }
    emails = _urgent_emails()
    assert sorted(m.to[0] for m in emails) == ["mod.one@haven.test", "mod.two@haven.test"]
    for message in emails:
        assert message.extra_headers["Importance"] == "high"
        assert message.extra_headers["X-Priority"] == "1"
        assert "A hard week" in message.subject
        assert "Wren" not in message.body
        assert item.post.body not in message.body
    assert _oncall_emails() == []


@pytest.mark.django_db
def test_out_of_hours_the_on_call_address_is_emailed_too_once(team, oncall, committed):
    item = _urgent_item(SATURDAY_2AM)
    with time_machine.travel(SATURDAY_2AM):
        with committed():
            assert urgent_alert_send(review_item_id=item.pk, number=1)
        # The job again (redelivered), and the sweep: nothing more.
        assert not urgent_alert_send(review_item_id=item.pk, number=1)
        assert urgent_alerts_sweep() == 0
    (message,) = _oncall_emails()
    assert message.subject == "[URGENT] Safeguarding concern on Haven"
    assert message.extra_headers["X-Priority"] == "1"
    assert "Wren" not in message.body
    assert StaffAlert.objects.get(kind="urgent").oncall_sent_at is not None
    # The link opens the item's page in the review queue, for a moderator who signs in.
    link = re.search(r"Review it now: (\S+)", message.body)
    assert link and link[1] == f"http://127.0.0.1:8000/staff/queue/{item.pk}/"
    moderator = Client()
    moderator.force_login(team[0])
    page = moderator.get(urlsplit(link[1]).path)
    assert page.status_code == 200 and "A hard week" in page.content.decode()


@pytest.mark.django_db
def test_an_unset_on_call_address_or_no_moderation_hours_are_handled(team, settings, committed):
    settings.HAVEN_ONCALL_EMAIL = ""
    item = _urgent_item(SATURDAY_2AM)
    with time_machine.travel(SATURDAY_2AM), committed():
        assert urgent_alert_send(review_item_id=item.pk, number=1)
    assert _oncall_emails() == [] and len(_urgent_emails()) == 2
    # No moderation hours configured at all: every alert is treated as out of hours.
    settings.HAVEN_ONCALL_EMAIL = ONCALL
    settings.HAVEN_MODERATION_HOURS_SERVICE = "nobody"
    other = _urgent_item(MONDAY_10AM)
    with time_machine.travel(MONDAY_10AM), committed():
        assert urgent_alert_send(review_item_id=other.pk, number=1)
    assert len(_oncall_emails()) == 1


@pytest.mark.django_db
def test_a_redelivered_alert_job_writes_and_sends_nothing_twice(team, committed):
    item = _urgent_item(MONDAY_10AM)
    with time_machine.travel(MONDAY_10AM), committed():
        alert_urgent_review.apply(kwargs={"review_item_id": item.pk})
        alert_urgent_review.apply(kwargs={"review_item_id": item.pk})
    assert Notification.objects.filter(kind="urgent_review").count() == 2
    assert len(_urgent_emails()) == 2
    item.refresh_from_db()
    assert item.alerts_sent == 1


@pytest.mark.django_db
def test_an_unclaimed_item_is_re_alerted_after_the_interval_and_a_claimed_one_is_not(
    team, settings
):
    settings.HAVEN_URGENT_REALERT_MINUTES = 15
    item = _urgent_item(MONDAY_10AM)
    with time_machine.travel(MONDAY_10AM, tick=False):
        assert urgent_alert_send(review_item_id=item.pk, number=1)
    with time_machine.travel(MONDAY_10AM + timedelta(minutes=14), tick=False):
        assert urgent_alerts_sweep() == 0
    with time_machine.travel(MONDAY_10AM + timedelta(minutes=15), tick=False):
        assert urgent_alerts_sweep() == 1
        assert urgent_alerts_sweep() == 0  # the second beat of the same minute
    assert sorted(
        Notification.objects.filter(kind="urgent_review").values_list("sequence", flat=True)
    ) == [1, 1, 2, 2]

    settings.HAVEN_REVIEW_CLAIM_MINUTES = 30
    ReviewItem.objects.filter(pk=item.pk).update(
        claimed_by=team[0], claimed_at=MONDAY_10AM + timedelta(minutes=20)
    )
    with time_machine.travel(MONDAY_10AM + timedelta(minutes=49), tick=False):
        assert urgent_alerts_sweep() == 0  # claimed: a moderator is on it
    item.refresh_from_db()
    assert item.alerts_sent == 2

    # The claim lapsed (she went home): nobody is on it, so the alerts start again.
    with time_machine.travel(MONDAY_10AM + timedelta(minutes=51), tick=False):
        assert urgent_alerts_sweep() == 1
    item.refresh_from_db()
    assert item.alerts_sent == 3


@pytest.mark.django_db
def test_the_sweep_sends_a_first_alert_whose_job_was_lost(team):
    item = _urgent_item(MONDAY_10AM)  # its job never ran: the broker was down
    with time_machine.travel(MONDAY_10AM + timedelta(seconds=30), tick=False):
        assert urgent_alerts_sweep() == 0  # give the job its minute
    with time_machine.travel(MONDAY_10AM + timedelta(minutes=2), tick=False):
        assert urgent_alerts_sweep() == 1
    item.refresh_from_db()
    assert item.alerts_sent == 1
    assert Notification.objects.filter(kind="urgent_review", sequence=1).count() == 2


@pytest.mark.django_db
def test_a_refused_on_call_email_is_sent_by_the_next_sweep(team, oncall, monkeypatch):
    item = _urgent_item(SATURDAY_2AM)

    def refuse(self, *args, **kwargs):
        raise ConnectionRefusedError("mail server down")

    with time_machine.travel(SATURDAY_2AM, tick=False):
        assert urgent_alert_send(review_item_id=item.pk, number=1)
        monkeypatch.setattr(mail.EmailMessage, "send", refuse)
        with pytest.raises(ConnectionRefusedError):
            oncall_email_send(alert_id=StaffAlert.objects.get().pk)
        monkeypatch.undo()
    assert StaffAlert.objects.get().oncall_sent_at is None
    with time_machine.travel(SATURDAY_2AM + timedelta(minutes=1), tick=False):
        urgent_alerts_sweep()
        urgent_alerts_sweep()
    assert len(_oncall_emails()) == 1


@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_once_send_each_alert_once(team):
    item = _urgent_item(MONDAY_10AM)
    with time_machine.travel(MONDAY_10AM + timedelta(minutes=5), tick=False):
        errors = race([urgent_alerts_sweep, urgent_alerts_sweep, urgent_alerts_sweep])
    assert errors == []
    assert ReviewItem.objects.get(pk=item.pk).alerts_sent == 1
    assert Notification.objects.filter(kind="urgent_review").count() == 2
    assert StaffAlert.objects.filter(kind="urgent").count() == 1


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_the_urgent_alert_reaches_moderators_through_a_real_worker(celery_worker, mailoutbox):
    moderator = UserFactory(role=Role.MODERATOR, email="mod.on.duty@haven.test")
    post = _post()
    with transaction.atomic():
        screening_raised(post, Screening(safeguarding=True, reasons=("safeguarding",)))
    assert wait_until(lambda: Notification.objects.filter(kind="urgent_review").exists())
    alert = Notification.objects.get(kind="urgent_review")
    assert (alert.recipient, alert.priority) == (moderator, "high")
    assert wait_until(lambda: [m.to for m in mailoutbox] == [["mod.on.duty@haven.test"]])
    assert mailoutbox[0].extra_headers["Importance"] == "high"
    assert ReviewItem.objects.get(post=post).alerts_sent == 1


# --- Digest, reminder, summary ----------------------------------------------------------


def _items(count: int, *, at: datetime, urgent: bool = False) -> list[ReviewItem]:
    with time_machine.travel(at, tick=False):
        made = []
        for index in range(count):
            post = _post(title=f"Question {index}")
            with transaction.atomic():
                made.append(review_raise(post=post, reasons=["spam"], urgent=urgent))
        return made


@pytest.mark.django_db
def test_the_digest_lists_new_items_once_to_each_moderator(team):
    _items(2, at=MONDAY_10AM)
    _items(1, at=MONDAY_10AM, urgent=True)  # alerted at once, never digested
    mail.outbox.clear()
    with time_machine.travel(MONDAY_10AM + timedelta(minutes=30), tick=False):
        assert review_digest_send() == 2
        assert review_digest_send() == 0
    assert sorted(m.to[0] for m in mail.outbox) == ["mod.one@haven.test", "mod.two@haven.test"]
    body = mail.outbox[0].body
    assert "Question 0" in body and "Question 1" in body
    assert "Wren" not in body
    # A new item in the same hour waits for the next hour's digest.
    _items(1, at=MONDAY_10AM + timedelta(minutes=40))
    with time_machine.travel(MONDAY_10AM + timedelta(minutes=45), tick=False):
        assert review_digest_send() == 0
    with time_machine.travel(MONDAY_10AM + timedelta(minutes=75), tick=False):
        assert review_digest_send() == 1


@pytest.mark.django_db(transaction=True)
def test_two_digests_at_once_send_one(team):
    _items(3, at=MONDAY_10AM)
    mail.outbox.clear()
    sent: list[int] = []
    with time_machine.travel(MONDAY_10AM + timedelta(minutes=30), tick=False):
        errors = race([lambda: sent.append(review_digest_send()) for _ in range(3)])
    assert errors == []
    assert sorted(sent) == [0, 0, 3]
    assert len(mail.outbox) == 2


@pytest.mark.django_db
def test_a_refused_digest_is_sent_by_the_next_run(team, monkeypatch):
    _items(1, at=MONDAY_10AM)
    mail.outbox.clear()

    def refuse(*args, **kwargs):
        raise ConnectionRefusedError("mail server down")

    monkeypatch.setattr("moderation.alerts.send_mail", refuse)
    with time_machine.travel(MONDAY_10AM, tick=False):
        with pytest.raises(ConnectionRefusedError):
            review_digest_send()
        monkeypatch.undo()
        assert review_digest_send() == 1
    assert len(mail.outbox) == 2


@pytest.mark.django_db
def test_old_pending_items_are_reminded_once_a_day(team, settings):
    settings.HAVEN_QUEUE_REMINDER_HOURS = 24
    _items(2, at=MONDAY_10AM)
    mail.outbox.clear()
    with time_machine.travel(MONDAY_10AM + timedelta(hours=23), tick=False):
        assert review_queue_remind() == 0
    with time_machine.travel(MONDAY_10AM + timedelta(hours=25), tick=False):
        assert review_queue_remind() == 2
        assert review_queue_remind() == 0
    with time_machine.travel(MONDAY_10AM + timedelta(hours=49), tick=False):
        assert review_queue_remind() == 2
    assert len(mail.outbox) == 4
    assert "waited more than 24 hours" in mail.outbox[0].body


@pytest.mark.django_db(transaction=True)
def test_the_admins_summary_goes_once_a_day_even_from_two_beats(team):
    UserFactory(email="admin@haven.test", is_superuser=True)
    _items(1, at=MONDAY_10AM)
    mail.outbox.clear()
    sent: list[int] = []
    with time_machine.travel(MONDAY_10AM + timedelta(hours=1), tick=False):
        errors = race([lambda: sent.append(staff_summary_send()) for _ in range(2)])
    assert errors == [] and sorted(sent) == [0, 1]
    (message,) = mail.outbox
    assert message.to == ["admin@haven.test"]
    assert "- posts waiting for review: 1" in message.body
    assert "- new members: " in message.body
    with time_machine.travel(MONDAY_10AM + timedelta(days=1), tick=False):
        assert staff_summary_send() == 1


def test_the_moderation_team_hours_default_is_weekdays_nine_to_five():
    assert MODERATION_TEAM["hours"]["weekly"]["mon"] == [["09:00", "17:00"]]
    assert "sat" not in MODERATION_TEAM["hours"]["weekly"]


@pytest.mark.django_db
def test_moderation_hours_are_the_services_so_admins_can_change_them(team, oncall, committed):
    support_service_ensure(
        key="moderation",
        name="Moderation team",
        hours={"time_zone": "Europe/London", "weekly": {"sat": [["00:00", "24:00"]]}},
    )
    item = _urgent_item(SATURDAY_2AM)
    with time_machine.travel(SATURDAY_2AM), committed():
        assert urgent_alert_send(review_item_id=item.pk, number=1)
    assert _oncall_emails() == []
    assert len(_urgent_emails()) == 2
