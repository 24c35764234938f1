"""Closing and reopening through the API, information pages' reviews, and the admin pages."""

import re
from datetime import date

import pytest
from django.core import mail
from django.core.exceptions import ValidationError

from accounts.roles import Role
from forum.models import Post
from moderation.models import NurseAnswer, SignpostingTemplate, SupportService
from moderation.services import resources_overdue_alert, support_service_ensure
from tests.factories import UserFactory, make_thread
from tests.utils import client_for

pytestmark = pytest.mark.django_db

SEEDED = ("samaritans", "moderation")  # by the safeguarding migration


def test_nurses_and_moderators_close_and_reopen_with_a_reason(ask_our_nurses, nurse):
    thread = make_thread(author=UserFactory(), category=ask_our_nurses)
    moderator = UserFactory(display_name="Community Team 1", role=Role.MODERATOR)
    closed = client_for(nurse).post(
        f"/api/v1/threads/{thread.pk}/close/", {"reason": "Answered by phone."}, format="json"
    )
    assert closed.status_code == 200
    assert (closed.json()["status"], closed.json()["close_reason"]) == (
        "closed",
        "Answered by phone.",
    )
    again = client_for(nurse).post(f"/api/v1/threads/{thread.pk}/close/", {}, format="json")
    assert (again.status_code, again.json()["code"]) == (409, "already_closed")
    reopened = client_for(moderator).post(
        f"/api/v1/threads/{thread.pk}/reopen/", {"reason": "Follow-up"}, format="json"
    )
    assert reopened.status_code == 200
    assert reopened.json()["status"] == "open"
    assert Post.objects.filter(thread=thread, kind="system").count() == 2
    too_long = client_for(nurse).post(
        f"/api/v1/threads/{thread.pk}/close/", {"reason": "x" * 501}, format="json"
    )
    assert too_long.status_code == 400
    assert list(too_long.json()["fields"]) == ["reason"]


def test_support_service_hours_are_validated():
    with pytest.raises(ValidationError) as refused:
        support_service_ensure(
            key="helpline",
            name="Helpline",
            hours={"time_zone": "Mars/Olympus", "weekly": {"mon": [["16:00", "09:00"]]}},
        )
    assert set(refused.value.message_dict) == {"hours"} or set(refused.value.message_dict) >= {
        "time_zone"
    }
    assert not SupportService.objects.exclude(key__in=SEEDED).exists()
    with pytest.raises(ValidationError):
        support_service_ensure(key="Someone-Like-Me", name="Bad key")


def test_admins_hear_of_pages_past_their_review_date(ask_our_nurses):
    UserFactory(display_name="Site Admin", email="admin@haven.test", is_superuser=True)
    assert resources_overdue_alert(today=date(2026, 10, 1)) == 0
    assert mail.outbox == []
    assert resources_overdue_alert(today=date(2026, 11, 22)) == 1
    assert mail.outbox[0].to == ["admin@haven.test"]
    assert "Metastatic or Recurrent Breast Cancer" in mail.outbox[0].body


def test_the_admin_pages_for_services_templates_and_pages(admin_client, ask_our_nurses):
    for url in (
        "/admin/moderation/supportservice/",
        "/admin/moderation/signpostingtemplate/",
        "/admin/moderation/informationresource/?review=overdue",
        "/admin/moderation/nurseanswer/",
        "/admin/moderation/unansweredquestion/",
    ):
        assert admin_client.get(url).status_code == 200, url
    helpline = SignpostingTemplate.objects.get(key="helpline")
    page = admin_client.get(f"/admin/moderation/signpostingtemplate/{helpline.pk}/change/")
    assert "0808 800 6000" in page.content.decode()  # the rendered preview


def test_an_admin_edit_of_a_template_is_checked_and_versioned(admin_client, ask_our_nurses):
    template = SignpostingTemplate.objects.get(key="nurse_callback")
    url = f"/admin/moderation/signpostingtemplate/{template.pk}/change/"
    form = {
        "key": "nurse_callback",
        "name": "Nurse call-back form",
        "kind": "service",
        "position": "2",
        "is_active": "on",
        "versions-TOTAL_FORMS": "0",
        "versions-INITIAL_FORMS": "0",
        "versions-MIN_NUM_FORMS": "0",
        "versions-MAX_NUM_FORMS": "1000",
    }
    bad = admin_client.post(url, {**form, "body": "Use {{ services.callback.url }}"})
    assert bad.status_code == 200
    assert "there is no support service" in bad.content.decode()
    good = admin_client.post(
        url, {**form, "body": "Fill in [the form]({{ services.nurse_callback.url }})."}
    )
    assert good.status_code == 302
    template.refresh_from_db()
    assert template.version == 2
    assert template.versions.count() == 2


def test_a_template_an_answer_used_cannot_be_deleted(admin_client, ask_our_nurses, nurse):
    thread = make_thread(author=UserFactory(), category=ask_our_nurses)
    client_for(nurse).post(
        f"/api/v1/threads/{thread.pk}/nurse-answer/",
        {"body": "Hello", "signposts": ["helpline"]},
        format="json",
    )
    assert NurseAnswer.objects.exists()
    used = SignpostingTemplate.objects.get(key="helpline")
    unused = SignpostingTemplate.objects.get(key="nurse_callback")
    assert (
        admin_client.get(f"/admin/moderation/signpostingtemplate/{used.pk}/delete/").status_code
        == 403
    )
    assert (
        admin_client.get(f"/admin/moderation/signpostingtemplate/{unused.pk}/delete/").status_code
        == 200
    )


def test_a_staff_nurse_answers_from_the_admin(client, ask_our_nurses):
    nurse = UserFactory(display_name="Care Team 3", role=Role.NURSE, is_staff=True)
    thread = make_thread(author=UserFactory(display_name="Sparrowhawk"), category=ask_our_nurses)
    client.force_login(nurse)
    listing = client.get("/admin/moderation/unansweredquestion/")
    assert listing.status_code == 200
    assert "Treatment for a local recurrence" in listing.content.decode()
    url = f"/admin/moderation/unansweredquestion/{thread.pk}/change/"
    page = client.get(url)
    assert page.status_code == 200
    assert "Someone Like Me" in page.content.decode()
    answer = {
        "answer": "Hi Sparrowhawk",
        "signposts": ["someone_like_me", "helpline"],
        "close": "on",
    }
    preview = client.post(url, answer)  # the first press shows what would publish
    assert preview.status_code == 200
    assert not NurseAnswer.objects.exists()
    digest = re.search(r'name="preview_digest" value="(\w+)"', preview.content.decode())[1]
    response = client.post(url, {**answer, "preview_digest": digest, "_save": "Publish"})
    assert response.status_code == 302
    answer = NurseAnswer.objects.get(thread=thread)
    assert "0114 263 6490" in answer.published_body
    thread.refresh_from_db()
    assert thread.status == "closed"
    assert url not in client.get("/admin/moderation/unansweredquestion/").content.decode()
    # Staff nurses do not reach the rest of the admin.
    assert client.get("/admin/accounts/user/").status_code == 403
