"""Personal data stays private: never cached, and nobody's address attached to another account."""

from datetime import timedelta
from urllib.parse import quote

import pytest
import time_machine
from allauth.account.models import EmailAddress, EmailConfirmationHMAC
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from tests.factories import PASSWORD, UserFactory, make_thread
from tests.utils import client_for

pytestmark = pytest.mark.django_db

ME = "/api/v1/me/"
EMAILS = "/_allauth/app/v1/account/email"


def _token(user) -> str:
    response = APIClient().post(
        "/_allauth/app/v1/auth/login", {"email": user.email, "password": PASSWORD}, format="json"
    )
    return response.json()["meta"]["session_token"]


def _uncacheable(response) -> bool:
    directives = {d.strip() for d in response.get("Cache-Control", "").split(",")}
    return {"no-store", "private"} <= directives


# --- Cache-Control ------------------------------------------------------------------------


def test_me_is_never_stored_by_a_cache(member):
    response = APIClient().get(ME, HTTP_X_SESSION_TOKEN=_token(member))
    assert response.status_code == 200
    assert response.json()["email"] == member.email
    assert _uncacheable(response)


def test_every_response_to_a_signed_in_request_is_private(member):
    thread = make_thread()
    token = _token(member)
    client = APIClient()
    for method, path in [
        ("get", "/api/v1/threads/"),
        ("get", f"/api/v1/threads/{thread.pk}/"),
        ("get", "/api/v1/notifications/"),
        ("get", "/api/v1/nurse/queue/"),  # a 403: private all the same
    ]:
        response = getattr(client, method)(path, HTTP_X_SESSION_TOKEN=token)
        assert _uncacheable(response), (path, response.status_code)


def test_a_browser_session_is_private_too(member):
    client = Client()
    client.force_login(member)
    assert _uncacheable(client.get(ME))


def test_allauth_answers_carrying_a_token_are_private(member):
    response = APIClient().post(
        "/_allauth/app/v1/auth/login", {"email": member.email, "password": PASSWORD}, format="json"
    )
    assert "session_token" in response.json()["meta"]
    assert _uncacheable(response)


def test_anonymous_public_pages_stay_cacheable(api_client):
    make_thread()
    response = api_client.get("/api/v1/threads/")
    assert response.status_code == 200
    assert "no-store" not in response.get("Cache-Control", "")


# --- Another member's address -------------------------------------------------------------


def _add(token: str, email: str):
    return APIClient().post(EMAILS, {"email": email}, format="json", HTTP_X_SESSION_TOKEN=token)


def test_another_members_address_is_never_verifiable_for_this_account(
    member, django_capture_on_commit_callbacks, mailoutbox
):
    bonnie = UserFactory(email="bonnie@haven.test", display_name="Bonnie52")
    token = _token(member)

    with django_capture_on_commit_callbacks(execute=True):
        free = _add(token, "sparrow.new@haven.test")
        taken = _add(token, "Bonnie@Haven.test")

    # Answered alike: the answer says nothing about whether the address has an account.
    assert free.status_code == taken.status_code == 200
    listed = {a["email"]: a for a in taken.json()["data"]}
    assert listed["bonnie@haven.test"]["verified"] is False
    assert set(listed["bonnie@haven.test"]) == set(listed["sparrow.new@haven.test"])

    # The free address gets its link; Bonnie gets a notice and no link at all.
    to_free = [m for m in mailoutbox if m.to == ["sparrow.new@haven.test"]]
    to_bonnie = [m for m in mailoutbox if m.to == ["bonnie@haven.test"]]
    assert len(to_free) == 1 and "/account/confirm-email/" in to_free[0].body
    assert len(to_bonnie) == 1
    assert "/account/confirm-email/" not in to_bonnie[0].body
    assert "another" in to_bonnie[0].body.lower()
    pending = EmailAddress.objects.get(user=member, email="bonnie@haven.test")
    key = quote(EmailConfirmationHMAC(pending).key)
    assert all(key not in m.body for m in mailoutbox)

    # Asking again, after allauth's resend cooldown, sends no link either.
    mailoutbox.clear()
    later = timezone.now() + timedelta(minutes=4)
    with time_machine.travel(later, tick=False), django_capture_on_commit_callbacks(execute=True):
        resend = APIClient().put(
            EMAILS, {"email": "bonnie@haven.test"}, format="json", HTTP_X_SESSION_TOKEN=token
        )
    assert resend.status_code == 200
    assert [m.to for m in mailoutbox] == [["bonnie@haven.test"]]
    assert "/account/confirm-email/" not in mailoutbox[0].body
    pending.refresh_from_db()
    assert pending.verified is False
    assert EmailAddress.objects.get(user=bonnie).verified is True


def test_adding_your_own_new_address_still_works(
    member, django_capture_on_commit_callbacks, mailoutbox
):
    token = _token(member)
    with django_capture_on_commit_callbacks(execute=True):
        assert _add(token, "sparrow.new@haven.test").status_code == 200
    address = EmailAddress.objects.get(email="sparrow.new@haven.test")
    assert quote(EmailConfirmationHMAC(address).key) in mailoutbox[0].body
    client = client_for(member)
    assert client.get(ME).status_code == 200
