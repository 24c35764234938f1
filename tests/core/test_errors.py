"""Every error a client can meet on /api/v1/ has the shape {"code", "detail", "fields"}."""

import pytest
import redis
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework.settings import api_settings
from rest_framework.test import APIClient

from core.api.exceptions import exception_handler
from core.errors import ApplicationError, Conflict, Forbidden

pytestmark = pytest.mark.django_db

ME = "/api/v1/me/"


def _shape(response) -> dict:
    body = response.json()
    assert set(body) == {"code", "detail", "fields"}, body
    return body


def test_unknown_api_path_is_a_json_404():
    response = APIClient().get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert _shape(response) == {"code": "not_found", "detail": "Not found.", "fields": {}}


def test_wrong_method_is_405(api_client):
    response = api_client.delete("/api/v1/categories/")
    assert response.status_code == 405
    assert _shape(response)["code"] == "method_not_allowed"


def test_malformed_json_is_a_parse_error(member_client):
    response = member_client.generic("PATCH", ME, "{not json", content_type="application/json")
    assert response.status_code == 400
    assert _shape(response)["code"] == "parse_error"


def test_deeply_nested_json_is_a_parse_error(member_client):
    body = "[" * 50_000 + "]" * 50_000
    response = member_client.generic("PATCH", ME, body, content_type="application/json")
    assert response.status_code == 400
    assert _shape(response)["code"] == "parse_error"


def test_too_many_form_fields_is_a_400_in_the_error_shape(member_client):
    body = "&".join(f"f{n}=x" for n in range(1500))
    response = member_client.generic(
        "PATCH", ME, body, content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 400
    assert _shape(response)["code"] == "bad_request"


def test_a_spoofed_forwarded_for_does_not_escape_the_throttle(settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**api_settings.DEFAULT_THROTTLE_RATES, "anon": "2/min"},
    }
    client = APIClient()
    statuses = [
        client.get("/api/v1/categories/", HTTP_X_FORWARDED_FOR=f"10.0.0.{n}").status_code
        for n in range(3)
    ]
    assert statuses == [200, 200, 429]


def test_an_unsupported_media_type_is_415(member_client):
    response = member_client.generic("PATCH", ME, "display_name=x", content_type="text/plain")
    assert response.status_code == 415
    assert _shape(response)["code"] == "unsupported_media_type"


def test_a_body_over_the_limit_is_413_and_changes_nothing(member_client, member, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    payload = '{"display_name": "Sparrow Two", "sign_off": "' + "x" * 2000 + '"}'
    response = member_client.generic("PATCH", ME, payload, content_type="application/json")
    assert response.status_code == 413
    assert _shape(response) == {
        "code": "too_large",
        "detail": "The request body is too large.",
        "fields": {},
    }
    member.refresh_from_db()
    assert member.display_name == "Sparrowhawk"


def test_too_many_requests_is_429_with_retry_after(settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**api_settings.DEFAULT_THROTTLE_RATES, "anon": "2/min"},
    }
    client = APIClient()
    assert [client.get("/api/v1/categories/").status_code for _ in range(2)] == [200, 200]
    response = client.get("/api/v1/categories/")
    assert response.status_code == 429
    assert _shape(response)["code"] == "throttled"
    assert 0 < int(response["Retry-After"]) <= 60


def test_throttle_counts_are_shared_through_redis(settings):
    """Two clients from one address share the anonymous budget: counts live in the cache."""
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**api_settings.DEFAULT_THROTTLE_RATES, "anon": "3/min"},
    }
    first, second = APIClient(), APIClient()
    assert first.get("/api/v1/categories/").status_code == 200
    assert second.get("/api/v1/categories/").status_code == 200
    assert first.get("/api/v1/categories/").status_code == 200
    assert second.get("/api/v1/categories/").status_code == 429
    # The count is in Redis, where every gunicorn worker and machine reads it.
    redis_client = redis.Redis.from_url(settings.CACHES["default"]["LOCATION"])
    keys = list(
        redis_client.scan_iter(f"{settings.CACHES['default']['KEY_PREFIX']}:*throttle_anon*")
    )
    redis_client.close()
    assert len(keys) == 1


@pytest.mark.parametrize(
    ("exc", "status", "body"),
    [
        (
            DjangoValidationError({"title": ["Too short."]}),
            400,
            {
                "code": "invalid",
                "detail": "The request has invalid fields.",
                "fields": {"title": ["Too short."]},
            },
        ),
        (
            DjangoValidationError("Something is off."),
            400,
            {
                "code": "invalid",
                "detail": "The request has invalid fields.",
                "fields": {"non_field_errors": ["Something is off."]},
            },
        ),
        (
            DjangoPermissionDenied(),
            403,
            {
                "code": "permission_denied",
                "detail": "You do not have permission to perform this action.",
                "fields": {},
            },
        ),
        (
            DjangoPermissionDenied("Only the author may do that."),
            403,
            {"code": "permission_denied", "detail": "Only the author may do that.", "fields": {}},
        ),
        (Http404(), 404, {"code": "not_found", "detail": "Not found.", "fields": {}}),
        (
            Forbidden("thread_closed", "This thread is closed."),
            403,
            {"code": "thread_closed", "detail": "This thread is closed.", "fields": {}},
        ),
        (
            Conflict("already_answered", "A nurse has answered."),
            409,
            {"code": "already_answered", "detail": "A nurse has answered.", "fields": {}},
        ),
        (
            ApplicationError("bad_state", "Not now.", status=422),
            422,
            {"code": "bad_state", "detail": "Not now.", "fields": {}},
        ),
    ],
)
def test_service_exceptions_become_the_error_shape(exc, status, body):
    response = exception_handler(exc, {})
    assert response is not None
    assert response.status_code == status
    assert response.data == body


def test_a_bug_is_left_to_the_500_handler():
    assert exception_handler(RuntimeError("bug"), {}) is None
