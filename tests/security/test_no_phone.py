"""Haven has no phone numbers: allauth's phone endpoints are neither served nor documented."""

import json

import pytest
from rest_framework.test import APIClient

from tests.utils import client_for

pytestmark = pytest.mark.django_db

PHONE_PATHS = ["account/phone", "auth/phone/verify", "auth/phone/verify/resend"]


@pytest.mark.parametrize("client_kind", ["app", "browser"])
@pytest.mark.parametrize("path", PHONE_PATHS)
def test_phone_endpoints_are_not_served(member, client_kind, path):
    url = f"/_allauth/{client_kind}/v1/{path}"
    for client in (APIClient(), client_for(member)):
        assert client.get(url).status_code == 404
        response = client.post(url, {"phone": "+447700900123", "code": "123456"}, format="json")
        assert response.status_code == 404


def test_the_rest_of_allauth_is_still_served(api_client):
    assert api_client.get("/_allauth/app/v1/auth/session").status_code == 401
    assert api_client.get("/_allauth/app/v1/config").status_code == 200


def test_no_phone_endpoint_is_documented(api_client):
    schema = api_client.get("/api/schema/", {"format": "json"})
    assert schema.status_code == 200
    paths = json.loads(schema.content)["paths"]
    assert "/_allauth/{client}/v1/auth/login" in paths
    assert [path for path in paths if "phone" in path] == []
    allauth_own = api_client.get("/_allauth/openapi.json").json()["paths"]
    assert allauth_own
    assert [path for path in allauth_own if "phone" in path] == []
