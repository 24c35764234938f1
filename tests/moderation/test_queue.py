"""The unanswered queue, its age in working hours, and reminders no question falls out of."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from rest_framework.test import APIClient

from accounts.roles import Role
from forum.models import Notification
from forum.services import post_create
from moderation.answers import nurse_answer_create, nurse_sla_remind
from moderation.models import SlaReminder
from moderation.tasks import remind_nurses_of_overdue_questions
from tests.factories import UserFactory, make_thread
from tests.utils import client_for, wait_until

LONDON = ZoneInfo("Europe/London")
FRIDAY_2PM = datetime(2026, 11, 20, 14, 0, tzinfo=LONDON)

pytestmark = pytest.mark.django_db


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=LONDON)


def test_the_queue_is_oldest_first_with_working_hours_ages(ask_our_nurses, nurse):
    with time_machine.travel(FRIDAY_2PM):
        make_thread(author=UserFactory(), category=ask_our_nurses, title="Asked on Friday")
    with time_machine.travel(at(21, 12)):
        newer = make_thread(author=UserFactory(), category=ask_our_nurses, title="Asked Saturday")
        post_create(author=UserFactory(), thread=newer, body="A member replied")
    with time_machine.travel(at(23, 9, 30)):  # Monday 9:30
        answered = make_thread(author=UserFactory(), category=ask_our_nurses, title="Answered one")
        nurse_answer_create(nurse=nurse, thread=answered, body="Hi", signposts=[], close=False)
        response = client_for(nurse).get("/api/v1/nurse/queue/")
    assert response.status_code == 200
    rows = response.json()["results"]
    assert [r["title"] for r in rows] == ["Asked on Friday", "Asked Saturday"]
    # Friday 2-4pm, Saturday 9am-1pm, Monday 9-9:30am; the weekend's closed hours don't count.
    assert rows[0]["age_working_hours"] == 6.5
    assert rows[1]["age_working_hours"] == 1.5
    assert [r["member_replies"] for r in rows] == [0, 1]
    assert [r["overdue"] for r in rows] == [False, False]
    assert rows[0]["author"]["role"] == "member"


def test_reminders_fire_once_per_level_at_the_right_working_age_across_a_weekend(
    ask_our_nurses, nurse
):
    other_nurse = UserFactory(display_name="Care Team 2", role=Role.NURSE)
    with time_machine.travel(FRIDAY_2PM):
        question = make_thread(author=UserFactory(), category=ask_our_nurses)
    mail.outbox.clear()

    # 14 working hours (two days of the helpline's) are reached on Tuesday at 10am.
    for moment in (at(21, 13), at(22, 23), at(23, 16), at(24, 9, 59)):
        with time_machine.travel(moment):
            assert nurse_sla_remind() == 0
    with time_machine.travel(at(24, 10, 1)):
        assert nurse_sla_remind() == 1
        assert nurse_sla_remind() == 0  # the next beat, or an overlapping one
    reminders = Notification.objects.filter(kind="sla_reminder")
    assert {n.recipient for n in reminders} == {nurse, other_nurse}
    assert all(n.email == "pending" for n in reminders)

    # Level 2 at 28 working hours: Thursday 10am.
    with time_machine.travel(at(26, 9, 59)):
        assert nurse_sla_remind() == 0
    with time_machine.travel(at(26, 10, 1)):
        assert nurse_sla_remind() == 1
    assert list(SlaReminder.objects.filter(thread=question).values_list("level", flat=True)) == [
        1,
        2,
    ]
    assert Notification.objects.filter(kind="sla_reminder").count() == 4

    # Answered questions are never reminded again.
    nurse_answer_create(
        nurse=nurse, thread=question, body="Sorry for the wait", signposts=[], close=False
    )
    with time_machine.travel(at(30, 16)):
        assert nurse_sla_remind() == 0


def test_a_new_question_notifies_every_nurse_by_email(
    ask_our_nurses, nurse, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        make_thread(author=UserFactory(display_name="Sparrowhawk"), category=ask_our_nurses)
    assert Notification.objects.get(kind="new_question").recipient == nurse
    assert [m.to for m in mail.outbox] == [["helen.smith@haven.test"]]
    assert mail.outbox[0].subject.startswith("New question for the nurses")
    # Peer categories are not the nurses' queue.
    make_thread(author=UserFactory())
    assert Notification.objects.filter(kind="new_question").count() == 1


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_the_reminder_job_runs_on_a_real_worker(celery_worker, mailoutbox, ask_our_nurses):
    nurse = UserFactory(role=Role.NURSE, email="nurse.on.duty@haven.test")
    with time_machine.travel(at(2, 9)):
        make_thread(author=UserFactory(), category=ask_our_nurses)
    remind_nurses_of_overdue_questions.delay()
    assert wait_until(lambda: SlaReminder.objects.exists())

    def reminded() -> list[list[str]]:
        return [m.to for m in mailoutbox if m.subject.startswith("Still waiting for a nurse")]

    assert wait_until(lambda: reminded() == [["nurse.on.duty@haven.test"]])
    assert Notification.objects.get(kind="sla_reminder").recipient == nurse


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/signposts/"),
        ("get", "/api/v1/nurse/queue/"),
        ("post", "/api/v1/threads/{id}/nurse-answer/"),
        ("post", "/api/v1/threads/{id}/close/"),
        ("post", "/api/v1/threads/{id}/reopen/"),
    ],
)
def test_every_nurse_endpoint_refuses_members_and_anonymous_users(ask_our_nurses, method, path):
    thread = make_thread(author=UserFactory(), category=ask_our_nurses)
    url = path.format(id=thread.pk)
    anonymous = getattr(APIClient(), method)(url, {"body": "x", "reason": "x"}, format="json")
    assert anonymous.status_code == 401
    member = getattr(client_for(UserFactory()), method)(
        url, {"body": "x", "reason": "x"}, format="json"
    )
    assert member.status_code == 403
    assert member.json()["code"] in {"not_nurse", "not_allowed"}
    thread.refresh_from_db()
    assert thread.status == "open"
    assert thread.nurse_answered_at is None


@pytest.mark.parametrize("size", [3, 40])
def test_nurse_endpoints_have_constant_query_counts(
    ask_our_nurses, nurse, size, django_assert_num_queries
):
    for n in range(size):
        make_thread(author=UserFactory(), category=ask_our_nurses, title=f"Question number {n}")
    client = client_for(nurse)
    # The nurse's permissions (2), count, page, the nursing team's hours.
    with django_assert_num_queries(5):
        response = client.get("/api/v1/nurse/queue/")
    assert len(response.json()["results"]) == min(size, 20)
    # Services, templates, information pages (the permissions are cached on the user).
    with django_assert_num_queries(3):
        assert client.get("/api/v1/signposts/").status_code == 200


def test_with_no_nurses_reminders_wait_for_them(ask_our_nurses):
    with time_machine.travel(FRIDAY_2PM):
        make_thread(author=UserFactory(), category=ask_our_nurses)
    with time_machine.travel(at(30, 12)):
        assert nurse_sla_remind() == 0
        assert not SlaReminder.objects.exists()
        nurse = UserFactory(role=Role.NURSE)
        assert nurse_sla_remind() == 1
    assert Notification.objects.get(kind="sla_reminder").recipient == nurse


def test_the_queue_needs_the_queue_permission(ask_our_nurses, nurse):
    from django.contrib.auth.models import Permission

    nurse.user_permissions.clear()
    group = nurse.groups.get()
    group.permissions.remove(Permission.objects.get(codename="view_nurse_queue"))
    fresh = type(nurse).objects.get(pk=nurse.pk)
    response = client_for(fresh).get("/api/v1/nurse/queue/")
    assert (response.status_code, response.json()["code"]) == (403, "permission_denied")
