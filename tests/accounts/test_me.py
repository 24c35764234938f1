from datetime import timedelta

import pytest
from allauth.account.models import EmailAddress
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.roles import Role
from tests.factories import PASSWORD, UserFactory
from tests.utils import client_for

pytestmark = pytest.mark.django_db

ME = "/api/v1/me/"


def test_me_shows_the_member_their_own_profile(member_client, member):
    response = member_client.get(ME)
    assert response.status_code == 200
    assert response.json() == {
        "id": member.pk,
        "email": member.email,
        "email_verified": True,
        "display_name": "Sparrowhawk",
        "role": "member",
        "title": None,
        "sign_off": "",
        "email_on_reply": True,
        "unread_notifications": 0,
        "is_suspended": False,
        "suspended_until": None,
        "date_joined": response.json()["date_joined"],
    }


def test_me_needs_a_signed_in_user(api_client):
    response = api_client.get(ME)
    assert response.status_code == 401
    assert response.json() == {
        "code": "not_authenticated",
        "detail": "Authentication credentials were not provided.",
        "fields": {},
    }


def test_me_is_one_query(member_client, django_assert_num_queries):
    # force_authenticate skips the session lookup: the user row with its verified flag,
    # and nothing per field.
    with django_assert_num_queries(1):
        assert member_client.get(ME).status_code == 200


def test_a_member_renames_themselves(member_client, member):
    response = member_client.patch(ME, {"display_name": "  Sparrow   Hawk "}, format="json")
    assert response.status_code == 200
    assert response.json()["display_name"] == "Sparrow Hawk"
    member.refresh_from_db()
    assert member.display_name == "Sparrow Hawk"


def test_changing_only_the_case_of_your_own_name_is_allowed(member_client):
    response = member_client.patch(ME, {"display_name": "SPARROWHAWK"}, format="json")
    assert response.status_code == 200
    assert response.json()["display_name"] == "SPARROWHAWK"


@pytest.mark.parametrize(
    ("display_name", "message"),
    [
        ("ab", "Ensure this field has at least 3 characters."),
        ("x" * 31, "Ensure this field has no more than 30 characters."),
        ("Sparrow<b>", "Use letters, digits, spaces, '_' or '-' only."),
        ("Nurse Jo", "This name is reserved for the Haven team; please choose another."),
        ("bonnie52", "This display name is already taken."),
    ],
)
def test_a_bad_display_name_is_a_field_error(member_client, member, display_name, message):
    UserFactory(display_name="Bonnie52")
    response = member_client.patch(ME, {"display_name": display_name}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert body["fields"] == {"display_name": [message]}
    member.refresh_from_db()
    assert member.display_name == "Sparrowhawk"


def test_only_nurses_have_a_sign_off(member_client):
    response = member_client.patch(ME, {"sign_off": "Love, S"}, format="json")
    assert response.status_code == 400
    assert response.json()["fields"] == {"sign_off": ["Only nurses sign their answers."]}


def test_a_nurse_sets_her_sign_off_and_shows_her_title_not_her_name():
    nurse = UserFactory(role=Role.NURSE, display_name="Care Team 7")
    response = client_for(nurse).patch(
        ME, {"sign_off": "Best wishes, Breast Care Nurse"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["sign_off"] == "Best wishes, Breast Care Nurse"
    assert response.json()["title"] == "Breast Care Nurse"
    assert response.json()["role"] == "nurse"


def test_email_and_role_cannot_be_changed_here(member_client, member):
    response = member_client.patch(
        ME, {"email": "other@haven.test", "role": "nurse"}, format="json"
    )
    assert response.status_code == 200
    member.refresh_from_db()
    assert member.email != "other@haven.test"
    assert member.role == Role.MEMBER


def test_an_unverified_member_can_read_but_not_write(member):
    EmailAddress.objects.filter(user=member).update(verified=False)
    client = client_for(member)
    assert client.get(ME).json()["email_verified"] is False
    response = client.patch(ME, {"display_name": "Someone Else"}, format="json")
    assert response.status_code == 403
    assert response.json() == {
        "code": "email_unverified",
        "detail": "Please verify your email address before posting.",
        "fields": {},
    }


def test_a_suspended_member_can_read_but_not_write(member):
    member.suspended_until = timezone.now() + timedelta(days=3)
    member.save()
    client = client_for(member)
    assert client.get(ME).json()["is_suspended"] is True
    response = client.patch(ME, {"display_name": "Someone Else"}, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "suspended"


def test_a_suspension_that_has_ended_no_longer_applies(member):
    member.suspended_until = timezone.now() - timedelta(minutes=1)
    member.save()
    response = client_for(member).patch(ME, {"display_name": "Back Again"}, format="json")
    assert response.status_code == 200


def test_me_with_a_session_token_has_a_fixed_query_budget(django_assert_num_queries):
    """The session comes from the cache; the user row and its verified flag from PostgreSQL."""
    user = UserFactory()
    login = APIClient().post(
        "/_allauth/app/v1/auth/login", {"email": user.email, "password": PASSWORD}, format="json"
    )
    token = login.json()["meta"]["session_token"]
    client = APIClient()
    with django_assert_num_queries(2):
        assert client.get(ME, HTTP_X_SESSION_TOKEN=token).status_code == 200


def test_a_member_turns_reply_emails_off(member_client, member):
    response = member_client.patch(ME, {"email_on_reply": False}, format="json")
    assert response.status_code == 200
    assert response.json()["email_on_reply"] is False
    member.refresh_from_db()
    assert member.email_on_reply is False


def test_a_name_taken_between_check_and_save_is_a_field_error_not_a_500(
    member_client, member, monkeypatch
):
    """Two members renaming to the same name at once: the database constraint decides."""
    UserFactory(display_name="Bonnie52")
    monkeypatch.setattr("accounts.services._check_display_name_free", lambda *a, **k: None)
    response = member_client.patch(ME, {"display_name": "bonnie52"}, format="json")
    assert response.status_code == 400
    assert response.json()["fields"] == {"display_name": ["This display name is already taken."]}
    member.refresh_from_db()
    assert member.display_name == "Sparrowhawk"
