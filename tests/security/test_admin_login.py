"""The admin's sign-in shares allauth's failed-login limit with the API.

Measured before: 25 wrong passwords at /admin/login/, then the right one, and the admin
was in, while the same account was locked out of the API. Now a wrong guess in either
place counts for both, and a locked-out account cannot sign in to the admin either until
allauth's window (5 failures per 5 minutes per address) has passed.
"""

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

ADMIN_LOGIN = "/admin/login/"
API_LOGIN = "/_allauth/app/v1/auth/login"
LOCKED = "Too many failed login attempts. Try again later."


@pytest.fixture
def staff():
    return UserFactory(email="staff@haven.test", display_name="Site Admin", is_superuser=True)


def _admin_login(client: Client, email: str, password: str):
    return client.post(ADMIN_LOGIN, {"username": email, "password": password, "next": "/admin/"})


def _signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def _api_login(email: str, password: str):
    return APIClient().post(API_LOGIN, {"email": email, "password": password}, format="json")


def test_the_right_password_signs_in_to_the_admin(staff):
    client = Client()
    response = _admin_login(client, "Staff@Haven.test", PASSWORD)
    assert response.status_code == 302
    assert _signed_in(client)


def test_twenty_five_wrong_guesses_then_the_right_one_stays_out(staff):
    client = Client()
    for _ in range(25):
        assert _admin_login(client, staff.email, "not-the-password").status_code == 200
    response = _admin_login(client, staff.email, PASSWORD)
    assert response.status_code == 200
    assert LOCKED in response.content.decode()
    assert not _signed_in(client)


def test_wrong_guesses_at_the_api_lock_the_admin_too(staff):
    for _ in range(5):
        assert _api_login(staff.email, "not-the-password").status_code == 400
    client = Client()
    response = _admin_login(client, staff.email, PASSWORD)
    assert LOCKED in response.content.decode()
    assert not _signed_in(client)


def test_wrong_guesses_at_the_admin_lock_the_api_too(staff):
    client = Client()
    for _ in range(5):
        _admin_login(client, staff.email, "not-the-password")
    response = _api_login(staff.email, PASSWORD)
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "too_many_login_attempts"


def test_the_lock_lifts_when_the_window_has_passed(staff):
    client = Client()
    for _ in range(6):
        _admin_login(client, staff.email, "not-the-password")
    assert not _signed_in(client)
    with time_machine.travel(timezone.now() + timedelta(minutes=5, seconds=5), tick=False):
        response = _admin_login(client, staff.email, PASSWORD)
    assert response.status_code == 302
    assert _signed_in(client)


def test_members_still_cannot_use_the_admin(member):
    client = Client()
    response = _admin_login(client, member.email, PASSWORD)
    assert response.status_code == 200
    assert not _signed_in(client)
