"""allauth's endpoints answer every error as JSON in allauth's own shape, never HTML or 500."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def _assert_allauth_error(response, status):
    assert response.status_code == status
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["status"] == status
    assert body["errors"] and {"message", "code"} <= set(body["errors"][0])


def test_a_form_encoded_sign_in_is_a_400_not_a_500(client):
    """The request guard reads form bodies; allauth then reads the raw body (it could not)."""
    response = client.post("/_allauth/app/v1/auth/login", {"email": "a@haven.test"})
    _assert_allauth_error(response, 400)


@pytest.mark.parametrize("body", ["[1, 2]", "0", '"text"', "null"])
def test_a_body_that_is_not_a_json_object_is_a_json_400(client, body):
    response = client.post("/_allauth/app/v1/auth/signup", body, content_type="application/json")
    _assert_allauth_error(response, 400)


def test_an_unknown_client_is_a_json_404(client):
    _assert_allauth_error(client.get("/_allauth/desktop/v1/config"), 404)


def test_a_browser_write_without_its_csrf_token_is_a_json_403():
    browser = Client(enforce_csrf_checks=True)
    response = browser.post(
        "/_allauth/browser/v1/auth/login",
        {"email": "a@haven.test", "password": "x"},
        content_type="application/json",
    )
    _assert_allauth_error(response, 403)


def test_what_allauth_answers_well_is_left_as_it_is(client):
    response = client.get("/_allauth/app/v1/auth/session")
    assert response.status_code == 401
    assert response.json()["meta"]["is_authenticated"] is False
