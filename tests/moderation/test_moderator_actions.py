"""Moderators' actions through the API: hide/restore a post, move a thread, suspend and
pre-moderate members; each named-permission checked, each audited, each ending in time."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import User
from accounts.roles import Role
from core.models import AuditEntry
from forum.models import Notification, Thread
from forum.services import post_create
from tests.factories import CategoryFactory, UserFactory, make_thread
from tests.utils import client_for

pytestmark = pytest.mark.django_db
MEMBERS = "/api/v1/moderation/members"


@pytest.fixture
def reply(db):
    thread = make_thread(author=UserFactory(display_name="Opener"))
    return post_create(author=UserFactory(display_name="Replier"), thread=thread, body="Text")


def test_a_moderator_hides_and_restores_a_post_with_reasons_audited(reply, moderator):
    client = client_for(moderator)
    hidden = client.post(
        f"/api/v1/posts/{reply.pk}/hide/",
        {"reason": "Advertising", "note": "Please don't post adverts."},
        format="json",
    )
    assert hidden.status_code == 200 and hidden.json()["status"] == "hidden"
    assert Thread.objects.get(pk=reply.thread_id).reply_count == 0
    told = Notification.objects.get(recipient=reply.author, kind="post_hidden")
    assert told.note == "Please don't post adverts."
    again = client.post(f"/api/v1/posts/{reply.pk}/hide/", {}, format="json")
    assert again.status_code == 409 and again.json()["code"] == "already_hidden"

    restored = client.post(
        f"/api/v1/posts/{reply.pk}/restore/", {"reason": "Appeal upheld"}, format="json"
    )
    assert restored.status_code == 200 and restored.json()["status"] == "visible"
    assert Thread.objects.get(pk=reply.thread_id).reply_count == 1
    entries = AuditEntry.objects.for_target(reply).order_by("id")
    assert [(e.action, e.actor_id, e.reason) for e in entries] == [
        ("post_hidden", moderator.pk, "Advertising"),
        ("post_restored", moderator.pk, "Appeal upheld"),
    ]
    again = client.post(f"/api/v1/posts/{reply.pk}/restore/", {}, format="json")
    assert again.status_code == 409 and again.json()["code"] == "not_hidden"


def test_a_moderator_restores_a_hidden_opening_post_and_its_thread(moderator):
    thread = make_thread(author=UserFactory())
    opening = thread.posts.get()
    client = client_for(moderator)
    assert client.post(f"/api/v1/posts/{opening.pk}/hide/", {}, format="json").status_code == 200
    assert Thread.objects.get(pk=thread.pk).visibility == "hidden"
    assert APIClient().get(f"/api/v1/threads/{thread.pk}/").status_code == 404
    restored = client.post(f"/api/v1/posts/{opening.pk}/restore/", {}, format="json")
    assert restored.status_code == 200
    assert APIClient().get(f"/api/v1/threads/{thread.pk}/").status_code == 200


def test_a_moderator_moves_a_thread_audited(moderator):
    thread = make_thread(author=UserFactory(), category=CategoryFactory(slug="general"))
    CategoryFactory(slug="recurrence")
    client = client_for(moderator)
    moved = client.post(
        f"/api/v1/threads/{thread.pk}/move/",
        {"category": "recurrence", "reason": "Better fit"},
        format="json",
    )
    assert moved.status_code == 200 and moved.json()["category"] == "recurrence"
    entry = AuditEntry.objects.for_target(thread).get(action="thread_moved")
    assert entry.actor_id == moderator.pk and entry.reason == "Better fit"
    assert entry.data == {"from": "general", "to": "recurrence"}
    same = client.post(
        f"/api/v1/threads/{thread.pk}/move/", {"category": "recurrence"}, format="json"
    )
    assert same.status_code == 409 and same.json()["code"] == "same_category"
    unknown = client.post(f"/api/v1/threads/{thread.pk}/move/", {"category": "nope"}, format="json")
    assert unknown.status_code == 400 and "category" in unknown.json()["fields"]


def test_members_and_nurses_may_not_moderate(reply, nurse):
    CategoryFactory(slug="elsewhere")
    target = UserFactory()
    for outsider in (UserFactory(), nurse):
        client = client_for(outsider)
        for path, body in (
            (f"/api/v1/posts/{reply.pk}/hide/", {}),
            (f"/api/v1/posts/{reply.pk}/restore/", {}),
            (f"/api/v1/threads/{reply.thread_id}/move/", {"category": "elsewhere"}),
            (f"{MEMBERS}/{target.pk}/suspend/", {"until": None}),
            (f"{MEMBERS}/{target.pk}/unsuspend/", {}),
            (f"{MEMBERS}/{target.pk}/premoderate/", {"until": None}),
            (f"{MEMBERS}/{target.pk}/release/", {}),
        ):
            response = client.post(path, body, format="json")
            assert response.status_code == 403, path
            assert response.json()["code"] == "not_moderator", path
    assert APIClient().post(f"{MEMBERS}/{target.pk}/suspend/", {}).status_code == 401
    assert not AuditEntry.objects.exclude(action="role_changed").exists()


def test_a_suspended_member_reads_but_cannot_write_until_the_date_passes(reply, moderator):
    member = UserFactory()
    until = timezone.now() + timedelta(days=7)
    response = client_for(moderator).post(
        f"{MEMBERS}/{member.pk}/suspend/",
        {"until": until.isoformat(), "reason": "Abusive messages"},
        format="json",
    )
    assert response.status_code == 200
    body = response.json()
    assert body["suspended"] and body["suspension_reason"] == "Abusive messages"
    entry = AuditEntry.objects.for_target(member).get(action="member_suspended")
    assert entry.actor_id == moderator.pk and entry.reason == "Abusive messages"

    client = client_for(User.objects.get(pk=member.pk))
    thread = f"/api/v1/threads/{reply.thread_id}/"
    assert client.get(f"{thread}posts/").status_code == 200
    refused = client.post(f"{thread}posts/", {"body": "Let me in"}, format="json")
    assert refused.status_code == 403 and refused.json()["code"] == "suspended"

    with time_machine.travel(until + timedelta(seconds=1)):
        client = client_for(User.objects.get(pk=member.pk))
        assert client.post(f"{thread}posts/", {"body": "Back"}, format="json").status_code == 201


def test_an_indefinite_suspension_lasts_until_lifted(reply, moderator):
    member = UserFactory()
    mod = client_for(moderator)
    suspended = mod.post(f"{MEMBERS}/{member.pk}/suspend/", {"until": None}, format="json")
    assert suspended.status_code == 200 and suspended.json()["suspended_until"] is None
    with time_machine.travel(timezone.now() + timedelta(days=3650)):
        assert User.objects.get(pk=member.pk).is_suspended
    lifted = mod.post(f"{MEMBERS}/{member.pk}/unsuspend/", {"reason": "Appeal"}, format="json")
    assert lifted.status_code == 200 and not lifted.json()["suspended"]
    client = client_for(User.objects.get(pk=member.pk))
    posted = client.post(f"/api/v1/threads/{reply.thread_id}/posts/", {"body": "Hi"}, format="json")
    assert posted.status_code == 201
    again = mod.post(f"{MEMBERS}/{member.pk}/unsuspend/", {}, format="json")
    assert again.status_code == 409 and again.json()["code"] == "not_suspended"
    actions = AuditEntry.objects.for_target(member).values_list("action", flat=True)
    assert sorted(actions) == ["member_suspended", "member_unsuspended"]


def test_pre_moderation_until_a_date_ends_by_itself_or_by_release(moderator):
    member = UserFactory()
    mod = client_for(moderator)
    until = timezone.now() + timedelta(days=2)
    response = mod.post(
        f"{MEMBERS}/{member.pk}/premoderate/",
        {"until": until.isoformat(), "reason": "New and posting links"},
        format="json",
    )
    assert response.status_code == 200 and response.json()["premoderated"]
    assert User.objects.get(pk=member.pk).is_premoderated
    with time_machine.travel(until + timedelta(seconds=1)):
        assert not User.objects.get(pk=member.pk).is_premoderated
        expired = mod.post(f"{MEMBERS}/{member.pk}/release/", {}, format="json")
        assert expired.status_code == 409 and expired.json()["code"] == "not_premoderated"

    mod.post(f"{MEMBERS}/{member.pk}/premoderate/", {"until": None}, format="json")
    released = mod.post(f"{MEMBERS}/{member.pk}/release/", {"reason": "Fine now"}, format="json")
    assert released.status_code == 200 and not released.json()["premoderated"]
    assert not User.objects.get(pk=member.pk).is_premoderated
    actions = AuditEntry.objects.for_target(member).order_by("id").values_list("action", flat=True)
    assert list(actions) == ["member_premoderated", "member_premoderated", "member_released"]


def test_never_staff_nor_oneself_nor_a_date_in_the_past(moderator, nurse):
    mod = client_for(moderator)
    other_moderator = UserFactory(display_name="Mod Two", role=Role.MODERATOR)
    admin = UserFactory(display_name="Site Admin", is_staff=True)
    for target, code in (
        (nurse, "staff_member"),
        (other_moderator, "staff_member"),
        (admin, "staff_member"),
        (moderator, "own_account"),
    ):
        for action in ("suspend", "premoderate"):
            response = mod.post(f"{MEMBERS}/{target.pk}/{action}/", {"until": None}, format="json")
            assert response.status_code == 403 and response.json()["code"] == code
    member = UserFactory()
    past = (timezone.now() - timedelta(minutes=1)).isoformat()
    for action in ("suspend", "premoderate"):
        response = mod.post(f"{MEMBERS}/{member.pk}/{action}/", {"until": past}, format="json")
        assert response.status_code == 400 and "until" in response.json()["fields"]
    missing = mod.post(f"{MEMBERS}/{member.pk}/suspend/", {}, format="json")
    assert missing.status_code == 400 and "until" in missing.json()["fields"]
    assert mod.post(f"{MEMBERS}/999999/suspend/", {"until": None}, format="json").status_code == 404
    member.refresh_from_db()
    assert not member.is_suspended and not member.is_premoderated
    assert not AuditEntry.objects.filter(action__startswith="member_").exists()
