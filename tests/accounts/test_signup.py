"""Headless sign-up and sign-in: display names validated, allauth's rate limits on."""

import pytest
from allauth.account.models import EmailAddress
from rest_framework.test import APIClient

from accounts import validators
from accounts.models import User
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

SIGNUP = "/_allauth/app/v1/auth/signup"
LOGIN = "/_allauth/app/v1/auth/login"


def _signup(**overrides: str):
    payload = {
        "email": "new@haven.test",
        "password": "bright-morning-walk-42",
        "display_name": "Bonnie52",
    }
    payload.update(overrides)
    return APIClient().post(SIGNUP, payload, format="json")


def _error_params(response) -> set[str]:
    return {error.get("param") for error in response.json()["errors"]}


def test_sign_up_stores_the_display_name_and_an_unverified_address():
    response = _signup(email="New@Haven.Test", display_name="  Bonnie   52 ")
    assert response.status_code == 401  # pending email verification
    user = User.objects.get()
    assert user.display_name == "Bonnie 52"
    assert user.email == "new@haven.test"
    assert user.role == "member"
    assert EmailAddress.objects.get(user=user).verified is False


@pytest.mark.parametrize(
    ("display_name", "code"),
    [
        ("", "required"),
        ("ab", "min_length"),
        ("x" * 31, "max_length"),
        ("Bonnie<script>", "invalid_characters"),
        ("Breast Care Nurse", "reserved"),
        ("the_moderator", "reserved"),
    ],
)
def test_sign_up_refuses_a_bad_display_name(display_name, code):
    response = _signup(display_name=display_name)
    assert response.status_code == 400
    errors = [e for e in response.json()["errors"] if e.get("param") == "display_name"]
    assert [e["code"] for e in errors] == [code]
    assert not User.objects.exists()


def test_sign_up_refuses_a_display_name_taken_in_another_case():
    UserFactory(display_name="Bonnie52")
    response = _signup(display_name="BONNIE52")
    assert response.status_code == 400
    assert "display_name" in _error_params(response)
    assert User.objects.count() == 1


def test_sign_up_refuses_a_weak_password():
    response = _signup(password="password")
    assert response.status_code == 400
    assert "password" in _error_params(response)


def _error_codes(response) -> set[str]:
    return {error["code"] for error in response.json()["errors"]}


def test_sign_in_with_the_wrong_password_is_rate_limited():
    user = UserFactory()
    client = APIClient()
    failures = [
        client.post(LOGIN, {"email": user.email, "password": "wrong-password"}, format="json")
        for _ in range(6)
    ]
    assert all(response.status_code == 400 for response in failures)
    assert "too_many_login_attempts" not in _error_codes(failures[4])
    assert "too_many_login_attempts" in _error_codes(failures[5])
    # Even the right password now waits out the limit (5 failures per 5 minutes per email).
    response = client.post(LOGIN, {"email": user.email, "password": PASSWORD}, format="json")
    assert response.status_code == 400
    assert "too_many_login_attempts" in _error_codes(response)


def test_sign_up_is_rate_limited_per_address():
    statuses = [
        _signup(email=f"new{n}@haven.test", display_name=f"Newcomer {n}").status_code
        for n in range(21)
    ]
    assert statuses[:20] == [401] * 20
    assert statuses[20] == 429


def test_a_verified_member_signs_in_with_an_email_in_any_case():
    user = UserFactory(email="bonnie@haven.test")
    response = APIClient().post(
        LOGIN, {"email": "BONNIE@haven.test", "password": PASSWORD}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["data"]["user"]["id"] == user.pk
    token = response.json()["meta"]["session_token"]
    me = APIClient().get("/api/v1/me/", HTTP_X_SESSION_TOKEN=token)
    assert me.status_code == 200


def test_a_bad_session_token_is_anonymous():
    response = APIClient().get("/api/v1/me/", HTTP_X_SESSION_TOKEN="not-a-token")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_password_reset_sends_a_key_by_email(django_capture_on_commit_callbacks, mailoutbox):
    user = UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        response = APIClient().post(
            "/_allauth/app/v1/auth/password/request", {"email": user.email}, format="json"
        )
    assert response.status_code == 200
    assert len(mailoutbox) == 1
    assert "/account/password/reset/key/" in mailoutbox[0].body


def test_a_display_name_taken_during_sign_up_is_a_400_not_a_500(monkeypatch):
    """Two sign-ups racing for one name: the constraint decides, the loser gets a 400."""
    UserFactory(display_name="Bonnie52")
    monkeypatch.setattr("accounts.forms.SignupForm.clean_display_name", lambda form: "Bonnie52")
    response = _signup(display_name="Bonnie52")
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"message": "This display name is already taken.", "code": "taken", "param": "display_name"}
    ]
    assert User.objects.count() == 1


def test_deeply_nested_json_is_a_400(api_client):
    body = "[" * 50_000 + "]" * 50_000
    response = api_client.generic("POST", LOGIN, body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "invalid"


def test_sign_up_checks_the_display_name_against_reserved_words_once(monkeypatch):
    """The service's check (``check_member_display_name``) is the form's only one."""
    checked = []
    looks_like = validators.looks_like
    monkeypatch.setattr(
        validators,
        "looks_like",
        lambda name, words: checked.append(name) or looks_like(name, words),
    )
    response = _signup(display_name="  Bonnie52 ")
    assert response.status_code == 401, response.content  # accepted; pending verification
    assert checked == ["Bonnie52"]
