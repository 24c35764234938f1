"""A new member signs up, verifies their email, signs in and reads their profile."""

import re
from urllib.parse import unquote

import pytest
from django.core import mail
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

APP = "/_allauth/app/v1"
PASSWORD = "bright-morning-walk-42"


def _verification_key(message_body: str) -> str:
    match = re.search(r"/account/confirm-email/([^\s/]+)", message_body)
    assert match, message_body
    return unquote(match.group(1))


def test_sign_up_verify_sign_in_and_read_me(django_capture_on_commit_callbacks):
    client = APIClient()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"{APP}/auth/signup",
            {
                "email": "Sparrow.Hawk@Example.org",
                "password": PASSWORD,
                "display_name": "Sparrowhawk",
            },
            format="json",
        )
    assert response.status_code == 401
    body = response.json()
    pending = [flow for flow in body["data"]["flows"] if flow.get("is_pending")]
    assert pending == [{"id": "verify_email", "is_pending": True}]

    # Not verified yet: signing in is refused with the same pending step.
    response = client.post(
        f"{APP}/auth/login",
        {"email": "sparrow.hawk@example.org", "password": PASSWORD},
        format="json",
    )
    assert response.status_code == 401
    assert response.json()["meta"]["is_authenticated"] is False
    assert {"id": "verify_email", "is_pending": True} in response.json()["data"]["flows"]

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["sparrow.hawk@example.org"]
    key = _verification_key(message.body)

    response = client.post(f"{APP}/auth/email/verify", {"key": key}, format="json")
    # Verified; ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION is off, so the member now signs in.
    assert response.status_code == 401
    assert response.json()["meta"]["is_authenticated"] is False
    assert {"id": "login"} in response.json()["data"]["flows"]

    response = client.post(
        f"{APP}/auth/login",
        {"email": "SPARROW.HAWK@example.org", "password": PASSWORD},
        format="json",
    )
    assert response.status_code == 200, response.json()
    token = response.json()["meta"]["session_token"]

    me = APIClient().get("/api/v1/me/", HTTP_X_SESSION_TOKEN=token)
    assert me.status_code == 200
    assert me.json()["display_name"] == "Sparrowhawk"
    assert me.json()["email"] == "sparrow.hawk@example.org"
    assert me.json()["email_verified"] is True
    assert me.json()["role"] == "member"
