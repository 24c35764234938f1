"""A form sent without its CSRF token, or with a stale one, is refused in each area's shape:
a branded page saying what to do for the site, JSON for the API and allauth's endpoints."""

import json
import re
from typing import Any

import pytest
from django.conf import settings
from django.test import Client, RequestFactory

from config.urls import csrf_failure
from forum.models import Post
from tests.factories import UserFactory, make_thread
from tests.pages import assert_page_frame
from tests.utils import signed_in

pytestmark = pytest.mark.django_db

TITLE = "This form has expired"


def _assert_expired_page(response: Any) -> None:
    assert response.status_code == 403
    assert response["Content-Type"].startswith("text/html")
    page = assert_page_frame(response, TITLE)
    text = " ".join("".join(page.text).split())
    assert "Nothing was saved" in text
    assert "go back, reload the page and send it again" in text.lower()


def test_a_form_sent_without_its_token_gets_the_branded_page_and_writes_nothing():
    member = UserFactory()
    thread = make_thread(author=member)
    client = signed_in(member, enforce_csrf_checks=True)
    response = client.post(f"/t/{thread.pk}/reply/", {"body": "My long reply"})
    _assert_expired_page(response)
    assert Post.objects.filter(thread=thread).count() == 1


def test_a_stale_token_gets_the_branded_page_too():
    """The page was loaded, then the session changed (signed out and in, in another tab)."""
    member = UserFactory()
    thread = make_thread(author=member)
    client = signed_in(member, enforce_csrf_checks=True)
    html = client.get(f"/t/{thread.pk}/reply/").content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert token
    client.cookies[settings.CSRF_COOKIE_NAME] = "x" * 32  # the cookie rotated since
    response = client.post(
        f"/t/{thread.pk}/reply/", {"body": "My reply", "csrfmiddlewaretoken": token.group(1)}
    )
    _assert_expired_page(response)
    assert Post.objects.filter(thread=thread).count() == 1


def test_a_signed_out_form_without_its_token_gets_the_page():
    response = Client(enforce_csrf_checks=True).post(
        "/account/login/", {"login": "a@haven.test", "password": "x"}
    )
    _assert_expired_page(response)


def test_the_api_gets_its_json_error_shape():
    request = RequestFactory().post("/api/v1/threads/")
    response = csrf_failure(request, reason="CSRF token missing.")
    assert response.status_code == 403
    assert response["Content-Type"] == "application/json"
    body = json.loads(response.content)
    assert body == {
        "code": "permission_denied",
        "detail": "CSRF Failed: CSRF token missing.",
        "fields": {},
    }


def test_allauths_endpoints_get_allauths_json_error_shape():
    request = RequestFactory().post("/_allauth/browser/v1/auth/login")
    response = csrf_failure(request, reason="CSRF token missing.")
    assert response.status_code == 403
    assert response["Content-Type"] == "application/json"
    body = json.loads(response.content)
    assert body["status"] == 403
    assert body["errors"][0]["code"] == "csrf_failed"
    assert "CSRF" in body["errors"][0]["message"]


def test_django_uses_haven_csrf_failure_view():
    assert settings.CSRF_FAILURE_VIEW == "config.urls.csrf_failure"
