"""Published clinical text stays as published: it changes only through a nurse's correction."""

import pytest

from accounts.roles import Role
from core.models import AuditEntry
from forum.models import Post, PostRevision
from moderation.models import NurseAnswer
from moderation.services import support_service_ensure
from tests.factories import UserFactory, make_thread
from tests.utils import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def answer(ask_our_nurses, nurse):
    question = make_thread(author=UserFactory(display_name="Sparrowhawk"), category=ask_our_nurses)
    response = client_for(nurse).post(
        f"/api/v1/threads/{question.pk}/nurse-answer/",
        {"body": "Hi Sparrowhawk, a mammogram is usual.", "signposts": ["helpline"]},
        format="json",
    )
    assert response.status_code == 201
    return Post.objects.get(pk=response.json()["id"])


def _unchanged(answer: Post) -> bool:
    post = Post.objects.get(pk=answer.pk)
    return (
        post.body == answer.body
        and post.edited_at is None
        and list(NurseAnswer.objects.filter(post=answer).values_list("version", flat=True)) == [1]
        and NurseAnswer.objects.get(post=answer).published_body == answer.body
        and not PostRevision.objects.filter(post=answer).exists()
        and not AuditEntry.objects.filter(action="nurse_answer_corrected").exists()
    )


@pytest.mark.parametrize("editor", ["moderator", "the nurse herself"])
def test_nobody_edits_a_nurse_answer_through_the_edit_path(answer, nurse, editor):
    user = UserFactory(role=Role.MODERATOR) if editor == "moderator" else nurse
    response = client_for(user).patch(
        f"/api/v1/posts/{answer.pk}/", {"body": "A different answer."}, format="json"
    )
    assert (response.status_code, response.json()["code"]) == (403, "correction_required")
    assert _unchanged(answer)


def _correct(nurse, post, **fields):
    payload = {
        "body": "Hi Sparrowhawk, an ultrasound is usual at your age.",
        "signposts": ["helpline"],
        "reason": "Ultrasound, not mammogram, under 40.",
    } | fields
    return client_for(nurse).post(f"/api/v1/posts/{post.pk}/correction/", payload, format="json")


def test_a_correction_is_a_new_version_audited_and_shown_as_edited(answer, nurse):
    support_service_ensure(key="helpline", phone="0808 800 9999")  # today's details
    colleague = UserFactory(display_name="Margaret Jones", role=Role.NURSE)
    colleague.title = "Secondary Breast Care Nurse"
    colleague.save()
    response = _correct(colleague, answer)
    assert response.status_code == 200, response.json()
    shown = response.json()
    assert "an ultrasound is usual" in shown["body"]
    assert "0808 800 9999" in shown["body"]  # recomposed like the original
    assert "[Ask Our Nurses disclaimer](" in shown["body"]
    assert shown["edited_at"] is not None
    # Still shown as published: the title it went out under, no id.
    assert shown["author"] == {
        "id": None,
        "display_name": "Breast Care Nurse",
        "role": "nurse",
        "title": "Breast Care Nurse",
    }

    first, second = NurseAnswer.objects.filter(post=answer).order_by("version")
    assert (first.version, first.published_body, first.reason) == (1, answer.body, "")
    assert "0808 800 6000" in first.services["helpline"]["phone"]
    assert (second.version, second.nurse, second.is_follow_up) == (2, colleague, False)
    assert second.published_body == shown["body"] == Post.objects.get(pk=answer.pk).body
    assert second.reason == "Ultrasound, not mammogram, under 40."
    # Signed off by the nurse who corrected it (she has no sign-off of her own: the template).
    used = {v.template.key for v in second.template_versions.all()}
    assert used == {"helpline", "sign_off", "disclaimer"}

    revision = PostRevision.objects.get(post=answer)
    assert revision.body == answer.body
    assert (revision.editor, revision.editor_title) == (colleague, "Secondary Breast Care Nurse")
    entry = AuditEntry.objects.for_target(Post.objects.get(pk=answer.pk)).get()
    assert (entry.action, entry.actor_id, entry.reason) == (
        "nurse_answer_corrected",
        colleague.pk,
        "Ultrasound, not mammogram, under 40.",
    )
    assert entry.data == {"version": 2, "snapshot": second.pk}


@pytest.mark.parametrize(
    ("who", "fields", "status", "code"),
    [
        ("member", {}, 403, "not_nurse"),
        ("nurse", {"reason": ""}, 400, "invalid"),
        ("nurse", {"body": ""}, 400, "invalid"),
        ("nurse", {"signposts": ["helpdesk"]}, 400, "invalid"),
    ],
)
def test_bad_corrections_write_nothing(answer, nurse, who, fields, status, code):
    user = nurse if who == "nurse" else UserFactory()
    response = _correct(user, answer, **fields)
    assert (response.status_code, response.json()["code"]) == (status, code)
    assert _unchanged(answer)


def test_the_same_text_again_is_not_a_correction(answer, nurse):
    response = _correct(nurse, answer, body="Hi Sparrowhawk, a mammogram is usual.")
    assert response.status_code == 400
    assert response.json()["fields"] == {"body": ["This is the answer as it is published already."]}
    assert _unchanged(answer)


def test_only_nurse_answers_are_corrected(answer, nurse):
    reply = Post.objects.get(thread=answer.thread, kind="post")
    response = _correct(nurse, reply)
    assert (response.status_code, response.json()["code"]) == (403, "not_nurse_answer")
    assert _correct(nurse, Post(pk=424242)).status_code == 404
