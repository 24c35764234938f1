"""Members mute other members: their posts come collapsed for the muter alone."""

import pytest
from rest_framework.test import APIClient

from accounts.models import Mute, User
from accounts.roles import Role
from forum.models import Notification
from forum.services import post_create
from tests.factories import UserFactory, make_reply, make_thread
from tests.utils import client_for

pytestmark = pytest.mark.django_db


def _mute_url(user_id: int) -> str:
    return f"/api/v1/members/{user_id}/mute/"


@pytest.fixture
def me() -> User:
    return UserFactory(display_name="Sparrowhawk")


@pytest.fixture
def loud() -> User:
    return UserFactory(display_name="Loud Larry")


def test_muting_collapses_their_posts_for_me_only_and_is_idempotent(me, loud):
    thread = make_thread(author=loud, title="Loud thread")
    post_create(author=me, thread=thread, body="My reply")
    nurse = UserFactory(role=Role.NURSE)
    post_create(author=nurse, thread=thread, body="A nurse's reply")
    mine = client_for(me)

    for _ in range(2):
        response = mine.post(_mute_url(loud.pk))
        assert (response.status_code, response.json()) == (200, {"muted": True})
    assert Mute.objects.filter(user=me).count() == 1

    def muted_flags(client: APIClient) -> list[bool]:
        rows = client.get(f"/api/v1/threads/{thread.pk}/posts/").json()["results"]
        return [row["muted"] for row in rows]

    assert muted_flags(mine) == [True, False, False]
    assert muted_flags(client_for(UserFactory())) == [False, False, False]
    assert muted_flags(client_for(loud)) == [False, False, False]
    assert muted_flags(APIClient()) == [False, False, False]

    listed = mine.get("/api/v1/me/mutes/").json()["results"]
    assert [row["member"] for row in listed] == [
        {"id": loud.pk, "display_name": "Loud Larry", "role": "member", "title": None}
    ]

    for _ in range(2):
        response = mine.delete(_mute_url(loud.pk))
        assert (response.status_code, response.json()) == (200, {"muted": False})
    assert muted_flags(mine) == [False, False, False]
    assert mine.get("/api/v1/me/mutes/").json()["results"] == []


def test_staff_unknown_and_erased_ids_are_not_found_and_self_is_refused(me):
    mine = client_for(me)
    nurse = UserFactory(role=Role.NURSE)
    moderator = UserFactory(role=Role.MODERATOR)
    gone = UserFactory()
    User.objects.filter(pk=gone.pk).update(is_active=False)
    unknown = client_for(me).post(_mute_url(10**9))
    assert unknown.status_code == 404
    for user in (nurse, moderator, gone):
        response = mine.post(_mute_url(user.pk))
        assert response.status_code == 404
        assert response.json() == unknown.json()  # no hint that the id exists
        assert mine.delete(_mute_url(user.pk)).status_code == 404
    own = mine.post(_mute_url(me.pk))
    assert (own.status_code, own.json()["code"]) == (403, "own_account")
    assert not Mute.objects.exists()


def test_a_member_muted_before_joining_the_staff_can_still_be_unmuted(me, loud):
    client_for(me).post(_mute_url(loud.pk))
    User.objects.filter(pk=loud.pk).update(role=Role.MODERATOR)
    assert client_for(me).get("/api/v1/me/mutes/").json()["results"] == []
    assert client_for(me).delete(_mute_url(loud.pk)).status_code == 200
    assert not Mute.objects.exists()


def test_suspended_and_unverified_members_still_manage_what_they_see(loud):
    suspended = UserFactory()
    User.objects.filter(pk=suspended.pk).update(suspended_indefinitely=True)
    suspended.refresh_from_db()
    unverified = UserFactory(verified=False)
    for user in (suspended, unverified):
        assert client_for(user).post(_mute_url(loud.pk)).status_code == 200
        assert client_for(user).delete(_mute_url(loud.pk)).status_code == 200


def test_muting_needs_signing_in(loud):
    assert APIClient().post(_mute_url(loud.pk)).status_code in (401, 403)
    assert APIClient().get("/api/v1/me/mutes/").status_code in (401, 403)


def test_a_muted_members_replies_notify_nobody_who_muted_her(me, loud):
    friend = UserFactory(display_name="Friend")
    thread = make_thread(author=me, title="My thread")
    client_for(friend).post(f"/api/v1/threads/{thread.pk}/follow/")
    client_for(me).post(_mute_url(loud.pk))
    make_reply(author=loud, thread=thread, body="Me again!")
    assert not Notification.objects.filter(recipient=me).exists()
    assert Notification.objects.filter(recipient=friend, kind="reply").count() == 1

    client_for(me).delete(_mute_url(loud.pk))
    make_reply(author=loud, thread=thread, body="And again.")
    assert Notification.objects.filter(recipient=me, kind="reply").count() == 1
