"""The nurse answer: signposts rendered from today's details, one snapshot, closing."""

from datetime import datetime
from functools import partial
from zoneinfo import ZoneInfo

import pytest
import time_machine
from rest_framework.test import APIClient

from accounts.roles import Role
from forum.models import Notification, Post, Thread
from moderation.answers import nurse_answer_create
from moderation.models import NurseAnswer
from moderation.services import support_service_ensure
from tests.factories import CategoryFactory, UserFactory, make_reply, make_thread, run_fan_out
from tests.utils import client_for, race

LONDON = ZoneInfo("Europe/London")
MONDAY_10AM = datetime(2026, 11, 23, 10, 0, tzinfo=LONDON)
SUNDAY_3PM = datetime(2026, 11, 22, 15, 0, tzinfo=LONDON)
SIGNPOSTS = ["someone_like_me", "helpline", "nurse_callback"]

pytestmark = pytest.mark.django_db


@pytest.fixture
def question(ask_our_nurses):
    asker = UserFactory(display_name="Sparrowhawk")
    return make_thread(author=asker, category=ask_our_nurses)


def _answer(nurse, thread, **overrides):
    payload = {
        "body": "Hi Sparrowhawk\n\nThanks for posting.",
        "signposts": SIGNPOSTS,
        "close": False,
    }
    payload.update(overrides)
    return client_for(nurse).post(
        f"/api/v1/threads/{thread.pk}/nurse-answer/", payload, format="json"
    )


def test_the_answer_carries_the_signposts_sign_off_and_disclaimer(question, nurse):
    with time_machine.travel(MONDAY_10AM):
        response = _answer(nurse, question)
    assert response.status_code == 201, response.json()
    post = response.json()
    assert post["kind"] == "nurse_answer"
    assert post["author"] == {
        "id": None,
        "display_name": "Breast Care Nurse",
        "role": "nurse",
        "title": "Breast Care Nurse",
    }
    body = post["body"]
    for expected in (
        "Hi Sparrowhawk",
        "0114 263 6490",
        "someonelikeme@haven.example",
        "0808 800 6000",
        "Relay UK: 18001 0808 800 6000",
        "Monday to Friday 9am–4pm and Saturday 9am–1pm",
        "We’re open now.",
        "https://haven.example/nurse-call-back",
        "Best wishes,\nBreast Care Nurse",
        "[Ask Our Nurses disclaimer](https://haven.example/ask-our-nurses-disclaimer)",
        "[Privacy Policy](https://haven.example/privacy)",
    ):
        assert expected in body
    assert body.index("0114 263 6490") < body.index("0808 800 6000")  # the order chosen
    assert 'href="https://haven.example/ask-our-nurses-disclaimer"' in post["body_html"]
    assert "Helen" not in response.content.decode()
    assert "helen.smith@haven.test" not in response.content.decode()

    question.refresh_from_db()
    assert question.nurse_answered_at is not None
    assert question.status == "open"
    answer = NurseAnswer.objects.get()
    assert answer.published_body == body
    assert {v.template.key for v in answer.template_versions.all()} == {
        *SIGNPOSTS,
        "disclaimer",
    }
    assert answer.services["helpline"]["phone"] == "0808 800 6000"


def test_out_of_hours_the_answer_says_when_the_helpline_reopens(question, nurse):
    with time_machine.travel(SUNDAY_3PM):
        body = _answer(nurse, question).json()["body"]
    assert "We’re open now." not in body
    assert (
        "Out of hours you can leave a message and we will call you back when we next open "
        "(tomorrow at 9am)." in body
    )


def test_answer_and_close_in_one_go_then_replies_are_refused(question, nurse):
    response = _answer(nurse, question, close=True)
    assert response.status_code == 201
    question.refresh_from_db()
    assert question.status == "closed"
    assert question.closed_by == nurse
    notice = Post.objects.get(thread=question, kind="system")
    assert notice.body == (
        "This thread will now be closed from further replies. If you have any additional "
        "questions or would like to provide feedback, please start a new thread."
    )
    reply = client_for(question.author).post(
        f"/api/v1/threads/{question.pk}/posts/", {"body": "Thank you!"}, format="json"
    )
    assert reply.status_code == 403
    assert reply.json()["code"] == "thread_closed"
    detail = APIClient().get(f"/api/v1/threads/{question.pk}/").json()
    assert detail["closed_by"]["display_name"] == "Breast Care Nurse"


def test_changing_the_helpline_number_changes_the_next_answer_never_a_published_one(
    ask_our_nurses, nurse
):
    first = make_thread(author=UserFactory(), category=ask_our_nurses, title="First question")
    published = _answer(nurse, first).json()
    support_service_ensure(key="helpline", phone="0808 800 9999")
    second = make_thread(author=UserFactory(), category=ask_our_nurses, title="Second question")
    later = _answer(nurse, second).json()
    assert "0808 800 9999" in later["body"]
    assert "0808 800 6000" not in later["body"]
    kept = Post.objects.get(pk=published["id"])
    assert "0808 800 6000" in kept.body
    assert "0808 800 9999" not in kept.body_html
    assert NurseAnswer.objects.get(post=kept).services["helpline"]["phone"] == "0808 800 6000"


def test_the_asker_and_followers_are_notified_the_asker_first(question, nurse):
    follower = UserFactory(display_name="Bonnie52")
    make_reply(author=follower, thread=question, body="Me too")
    _answer(nurse, question)
    run_fan_out()  # the answer's job, after the commit
    rows = {
        n.recipient.display_name: n.priority
        for n in Notification.objects.filter(kind="nurse_answer").select_related("recipient")
    }
    assert rows == {"Sparrowhawk": "high", "Bonnie52": "normal"}


def test_a_second_answer_is_a_conflict_unless_it_is_a_follow_up(question, nurse):
    other = UserFactory(display_name="Care Team 2", role=Role.NURSE)
    assert _answer(nurse, question).status_code == 201
    response = _answer(other, question)
    assert response.status_code == 409
    assert response.json()["code"] == "already_answered"
    follow_up = _answer(other, question, follow_up=True, signposts=[])
    assert follow_up.status_code == 201
    assert NurseAnswer.objects.filter(thread=question, is_follow_up=True).count() == 1
    question.refresh_from_db()
    assert question.reply_count == 2


@pytest.mark.django_db(transaction=True)
def test_two_nurses_answering_at_once_one_wins(ask_our_nurses):
    asker = UserFactory(display_name="Sparrowhawk")
    question = make_thread(author=asker, category=ask_our_nurses)
    nurses = [UserFactory(role=Role.NURSE) for _ in range(2)]
    outcomes: list[str] = []

    def answer(nurse) -> None:
        try:
            nurse_answer_create(
                nurse=nurse, thread=question, body="Hello", signposts=[], close=False
            )
            outcomes.append("answered")
        except Exception as exc:
            outcomes.append(getattr(exc, "code", repr(exc)))

    assert race([partial(answer, nurse) for nurse in nurses], timeout=30) == []
    assert sorted(outcomes) == ["already_answered", "answered"]
    assert NurseAnswer.objects.filter(thread=question).count() == 1


@pytest.mark.parametrize(
    ("payload", "fields"),
    [
        ({"body": ""}, {"body": ["The post must be at least 1 character long."]}),
        ({"signposts": ["helpdesk"]}, {"signposts": ["Unknown signpost “helpdesk”."]}),
        (
            {"signposts": "helpline"},
            {"signposts": ['Expected a list of items but got type "str".']},
        ),
        ({"close": "maybe"}, {"close": ["Must be a valid boolean."]}),
    ],
)
def test_bad_answers_are_field_errors_and_write_nothing(question, nurse, payload, fields):
    response = _answer(nurse, question, **payload)
    assert response.status_code == 400
    assert response.json()["fields"] == fields
    assert not NurseAnswer.objects.exists()
    assert Post.objects.filter(thread=question).count() == 1
    question.refresh_from_db()
    assert question.nurse_answered_at is None


def test_only_nurses_answer_and_only_in_ask_our_nurses(question, nurse):
    response = client_for(UserFactory()).post(
        f"/api/v1/threads/{question.pk}/nurse-answer/", {"body": "I'm a nurse"}, format="json"
    )
    assert response.status_code == 403
    assert response.json()["code"] == "not_nurse"
    peer = make_thread(category=CategoryFactory(slug="recurrence"))
    response = _answer(nurse, peer)
    assert response.status_code == 403
    assert response.json()["code"] == "not_nurse_answered"
    assert _answer(nurse, Thread(pk=424242)).status_code == 404


def test_after_answer_and_close_a_second_nurse_hears_already_answered(question, nurse):
    other = UserFactory(display_name="Care Team 2", role=Role.NURSE)
    assert _answer(nurse, question, close=True).status_code == 201
    response = _answer(other, question)
    assert (response.status_code, response.json()["code"]) == (409, "already_answered")


def test_a_nurse_answer_cannot_be_deleted_so_the_question_stays_answered(question, nurse):
    post_id = _answer(nurse, question).json()["id"]
    response = client_for(nurse).delete(f"/api/v1/posts/{post_id}/")
    assert (response.status_code, response.json()["code"]) == (403, "not_editable")
    question.refresh_from_db()
    assert question.nurse_answered_at is not None


def test_a_long_closing_template_still_closes(question, nurse):
    from moderation.services import signposting_template_save

    long_notice = "This thread is now closed. " * 40
    signposting_template_save(
        key="closing", name="Closing notice", kind="closing", body=long_notice
    )
    assert _answer(nurse, question, close=True).status_code == 201
    question.refresh_from_db()
    assert question.status == "closed"
    assert Post.objects.get(thread=question, kind="system").body == long_notice.strip()
