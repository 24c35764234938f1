"""A suspended (or unverified) member can always reduce what Haven sends them.

Measured before: unfollowing a thread and turning reply emails off both answered 403
``suspended``. Everything else stays refused, and a refused request writes nothing.
"""

from datetime import timedelta

import pytest
from allauth.account.models import EmailAddress
from django.utils import timezone

from forum.models import Subscription
from tests.factories import UserFactory, make_thread
from tests.utils import client_for

pytestmark = pytest.mark.django_db

ME = "/api/v1/me/"


@pytest.fixture
def suspended(member):
    member.suspended_until = timezone.now() + timedelta(days=3)
    member.save()
    return member


@pytest.fixture
def followed_thread(member):
    thread = make_thread(author=UserFactory())
    Subscription.objects.create(user=member, thread=thread)
    return thread


def test_a_suspended_member_unfollows_a_thread(suspended, followed_thread):
    client = client_for(suspended)
    response = client.delete(f"/api/v1/threads/{followed_thread.pk}/follow/")
    assert response.status_code == 200
    assert response.json() == {"following": False}
    assert not Subscription.objects.filter(user=suspended).exists()


def test_a_suspended_member_still_cannot_follow(suspended, followed_thread):
    Subscription.objects.all().delete()
    response = client_for(suspended).post(f"/api/v1/threads/{followed_thread.pk}/follow/")
    assert response.status_code == 403
    assert response.json()["code"] == "suspended"
    assert not Subscription.objects.exists()


def test_a_suspended_member_turns_reply_emails_off(suspended):
    response = client_for(suspended).patch(ME, {"email_on_reply": False}, format="json")
    assert response.status_code == 200
    assert response.json()["email_on_reply"] is False
    suspended.refresh_from_db()
    assert suspended.email_on_reply is False


def test_a_suspended_member_cannot_turn_reply_emails_back_on(suspended):
    suspended.email_on_reply = False
    suspended.save()
    response = client_for(suspended).patch(ME, {"email_on_reply": True}, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "suspended"
    suspended.refresh_from_db()
    assert suspended.email_on_reply is False


def test_reducing_alongside_another_change_is_refused_whole(suspended):
    response = client_for(suspended).patch(
        ME, {"email_on_reply": False, "display_name": "Someone Else"}, format="json"
    )
    assert response.status_code == 403
    suspended.refresh_from_db()
    assert suspended.email_on_reply is True
    assert suspended.display_name == "Sparrowhawk"


def test_an_unverified_member_can_reduce_too(member, followed_thread):
    EmailAddress.objects.filter(user=member).update(verified=False)
    client = client_for(member)
    assert client.patch(ME, {"email_on_reply": False}, format="json").status_code == 200
    assert client.delete(f"/api/v1/threads/{followed_thread.pk}/follow/").status_code == 200
    assert client.patch(ME, {"display_name": "Someone Else"}, format="json").status_code == 403


def test_unfollowing_still_needs_a_signed_in_member(api_client, member, followed_thread):
    response = api_client.delete(f"/api/v1/threads/{followed_thread.pk}/follow/")
    assert response.status_code == 401
    assert Subscription.objects.filter(user=member).exists()
