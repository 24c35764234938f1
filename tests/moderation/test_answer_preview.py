"""Preview before publishing: the nurse sees exactly what will go out, and only that goes out."""

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from accounts.roles import Role
from forum.models import Notification, Post
from forum.services import thread_close
from moderation.models import NurseAnswer
from moderation.services import support_service_ensure
from tests.factories import CategoryFactory, UserFactory, make_thread
from tests.utils import client_for

pytestmark = pytest.mark.django_db

MONDAY_10AM = datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("Europe/London"))
ANSWER = {"body": "Hi Sparrowhawk\n\nThanks for posting.", "signposts": ["helpline"]}


@pytest.fixture
def question(ask_our_nurses):
    return make_thread(author=UserFactory(display_name="Sparrowhawk"), category=ask_our_nurses)


def _nothing_published(question) -> bool:
    question.refresh_from_db()
    return (
        not NurseAnswer.objects.exists()
        and not Post.objects.filter(thread=question).exclude(kind="post").exists()
        and question.nurse_answered_at is None
        and question.status == "open"
        and not Notification.objects.filter(kind="nurse_answer").exists()
    )


def test_the_api_preview_is_what_publishes_and_saves_nothing(question, nurse):
    client = client_for(nurse)
    url = f"/api/v1/threads/{question.pk}/nurse-answer/"
    with time_machine.travel(MONDAY_10AM):
        preview = client.post(f"{url}preview/", {**ANSWER, "close": True}, format="json")
        assert preview.status_code == 200, preview.json()
        shown = preview.json()
        assert _nothing_published(question)
        published = client.post(
            url, {**ANSWER, "close": True, "preview_digest": shown["preview_digest"]}, format="json"
        )
    assert published.status_code == 201, published.json()
    assert published.json()["body"] == shown["body"]
    assert published.json()["body_html"] == shown["body_html"]
    for part in ("Thanks for posting.", "0808 800 6000", "Best wishes,\nBreast Care Nurse"):
        assert part in shown["body"]
    assert "[Ask Our Nurses disclaimer](" in shown["body"]
    assert shown["closing_notice"] == Post.objects.get(thread=question, kind="system").body


def test_publishing_what_the_preview_no_longer_shows_is_refused(question, nurse):
    client = client_for(nurse)
    url = f"/api/v1/threads/{question.pk}/nurse-answer/"
    digest = client.post(f"{url}preview/", ANSWER, format="json").json()["preview_digest"]
    support_service_ensure(key="helpline", phone="0808 800 9999")  # changed meanwhile
    response = client.post(url, {**ANSWER, "preview_digest": digest}, format="json")
    assert (response.status_code, response.json()["code"]) == (409, "preview_outdated")
    edited = client.post(url, {**ANSWER, "body": "Hi!", "preview_digest": digest}, format="json")
    assert (edited.status_code, edited.json()["code"]) == (409, "preview_outdated")
    assert _nothing_published(question)


def test_the_preview_checks_like_publishing(question, nurse):
    url = f"/api/v1/threads/{question.pk}/nurse-answer/preview/"
    member = client_for(UserFactory()).post(url, ANSWER, format="json")
    assert (member.status_code, member.json()["code"]) == (403, "not_nurse")
    peer = make_thread(category=CategoryFactory(slug="recurrence"))
    response = client_for(nurse).post(
        f"/api/v1/threads/{peer.pk}/nurse-answer/preview/", ANSWER, format="json"
    )
    assert (response.status_code, response.json()["code"]) == (403, "not_nurse_answered")
    bad = client_for(nurse).post(url, {"body": "", "signposts": ["helpdesk"]}, format="json")
    assert bad.status_code == 400
    assert set(bad.json()["fields"]) == {"body"}
    unknown = client_for(nurse).post(url, {**ANSWER, "signposts": ["helpdesk"]}, format="json")
    assert unknown.json()["fields"] == {"signposts": ["Unknown signpost “helpdesk”."]}
    assert _nothing_published(question)


# --- The nurses' page in the admin --------------------------------------------------------------


@pytest.fixture
def staff_nurse(client, db):
    nurse = UserFactory(
        display_name="Helen Smith",
        email="helen.smith@haven.test",
        role=Role.NURSE,
        is_staff=True,
        sign_off="Best wishes,\nBreast Care Nurse",
    )
    client.force_login(nurse)
    return client


def _page(question) -> str:
    return f"/admin/moderation/unansweredquestion/{question.pk}/change/"


def _digest(html: str) -> str:
    return re.search(r'name="preview_digest" value="(\w*)"', html)[1]


FORM = {"answer": "Hi Sparrowhawk, thanks for posting.", "signposts": ["helpline"], "close": "on"}


def test_the_admin_shows_the_full_answer_before_it_goes_out(staff_nurse, question):
    page = staff_nurse.get(_page(question)).content.decode()
    assert 'name="_preview"' in page
    assert _digest(page) == ""  # nothing previewed yet
    first = staff_nurse.post(_page(question), {**FORM, "_save": "Publish"})
    assert first.status_code == 200  # shown, not published: the nurse has not seen it yet
    html = first.content.decode()
    for part in (
        "thanks for posting.",
        "0808 800 6000",
        "Best wishes,<br>",
        "Ask Our Nurses disclaimer",
        "Then the thread closes with this notice",
        "This thread will now be closed from further replies.",
    ):
        assert part in html, part
    assert _nothing_published(question)

    published = staff_nurse.post(_page(question), {**FORM, "preview_digest": _digest(html)})
    assert published.status_code == 302
    answer = NurseAnswer.objects.get(thread=question)
    assert "0808 800 6000" in answer.published_body
    assert answer.published_html in html  # exactly the text that was shown
    question.refresh_from_db()
    assert question.status == "closed"


def test_a_changed_answer_or_changed_service_details_are_previewed_again(staff_nurse, question):
    digest = _digest(staff_nurse.post(_page(question), {**FORM, "_preview": "1"}).content.decode())
    changed = staff_nurse.post(
        _page(question), {**FORM, "answer": "Something else", "preview_digest": digest}
    )
    assert changed.status_code == 200
    # The service's decision (its 409 preview_outdated), said on the page.
    assert "has changed since your preview" in changed.content.decode()
    assert "preview it again before publishing. The new one is below" in changed.content.decode()
    assert _nothing_published(question)

    support_service_ensure(key="helpline", phone="0808 800 9999")
    again = staff_nurse.post(_page(question), {**FORM, "preview_digest": digest})
    assert again.status_code == 200
    assert "0808 800 9999" in again.content.decode()
    assert _nothing_published(question)
    # Pressing Preview with a current digest shows it again and publishes nothing.
    current = _digest(again.content.decode())
    repeat = staff_nurse.post(_page(question), {**FORM, "preview_digest": current, "_preview": "1"})
    assert repeat.status_code == 200
    assert _nothing_published(question)
    assert staff_nurse.post(_page(question), {**FORM, "preview_digest": current}).status_code == 302
    assert "0808 800 9999" in NurseAnswer.objects.get().published_body


def test_a_broken_template_is_an_error_on_the_page_not_a_crash(staff_nurse, question):
    from moderation.models import SignpostingTemplate

    SignpostingTemplate.objects.filter(key="helpline").update(body="{% lorem %}")
    response = staff_nurse.post(_page(question), FORM)
    assert response.status_code == 200
    assert "The signposting template “Helpline” is broken." in response.content.decode()
    assert _nothing_published(question)


def test_an_admin_without_the_nurse_role_reads_questions_but_cannot_answer(admin_client, question):
    page = admin_client.get(_page(question))
    assert page.status_code == 200
    assert 'name="answer"' not in page.content.decode()
    response = admin_client.post(_page(question), {**FORM, "preview_digest": "x"})
    assert response.status_code == 403
    assert _nothing_published(question)


def test_the_preview_refuses_what_publishing_would(question, nurse):
    """An answered question previews only as a follow-up; a closed one not at all."""
    client = client_for(nurse)
    url = f"/api/v1/threads/{question.pk}/nurse-answer/"
    assert client.post(url, ANSWER, format="json").status_code == 201
    again = client.post(f"{url}preview/", ANSWER, format="json")
    assert (again.status_code, again.json()["code"]) == (409, "already_answered")
    follow_up = client.post(f"{url}preview/", {**ANSWER, "follow_up": True}, format="json")
    assert follow_up.status_code == 200, follow_up.json()

    thread_close(actor=nurse, thread=question, reason="Answered")
    closed = client.post(f"{url}preview/", {**ANSWER, "follow_up": True}, format="json")
    assert (closed.status_code, closed.json()["code"]) == (403, "thread_closed")
