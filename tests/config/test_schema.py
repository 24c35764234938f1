"""The schema describes our API and the headless auth; Swagger UI is served offline."""

import pytest
from django.contrib.staticfiles import finders
from django.core.management import call_command


@pytest.mark.django_db
def test_schema_documents_the_api_the_session_token_and_the_headless_auth(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    assert "/api/v1/me/" in schema["paths"]
    assert "/api/v1/categories/" in schema["paths"]
    assert "/_allauth/{client}/v1/auth/login" in schema["paths"]
    assert "/_allauth/{client}/v1/auth/signup" in schema["paths"]
    assert schema["components"]["securitySchemes"]["sessionToken"] == {
        "type": "apiKey",
        "in": "header",
        "name": "X-Session-Token",
        "description": (
            "`meta.session_token` from `POST /_allauth/app/v1/auth/login` "
            "(allauth headless, app client)."
        ),
    }
    me = schema["paths"]["/api/v1/me/"]["get"]
    assert {"sessionToken": []} in me["security"]
    assert me["responses"]["4XX"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Error"
    }
    assert set(schema["components"]["schemas"]["Error"]["required"]) == {"code", "detail", "fields"}
    # Nested per-view serializers get distinct component names.
    assert {"MeOutput", "CategoryListOutput", "PatchedMeInput"} <= set(
        schema["components"]["schemas"]
    )


def test_schema_generates_with_no_warnings_and_validates(tmp_path):
    call_command(
        "spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml")
    )
    assert (tmp_path / "schema.yaml").read_text().startswith("openapi: 3")


@pytest.mark.django_db
def test_swagger_ui_renders_from_local_assets(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui" in html
    assert "cdn.jsdelivr.net" not in html  # no internet needed (and a strict CSP holds)
    bundle = "drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js"
    assert finders.find(bundle)
    assert f"/static/{bundle}" in html
    assert client.get(f"/static/{bundle}").status_code == 200
    assert "script-src 'self'" in response["Content-Security-Policy"]
    script = client.get("/api/docs/?script=")
    assert script.status_code == 200
    assert "/api/schema/" in script.content.decode()
