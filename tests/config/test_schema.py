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
    assert sorted(me["responses"]) == ["200", "400", "401", "403", "429"]
    for status in ("400", "401", "403", "429"):
        assert me["responses"][status]["content"]["application/json"]["schema"] == {
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


def _schema(client):
    return client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()


def _ref(schema, ref):
    return schema["components"]["schemas"][ref["$ref"].rsplit("/", 1)[1]]


@pytest.mark.django_db
def test_lists_are_documented_as_the_paginated_objects_they_return(client):
    schema = _schema(client)
    pages = {
        "/api/v1/threads/": {"count", "next", "previous", "results"},
        "/api/v1/threads/{thread_id}/posts/": {"next", "previous", "results"},
        "/api/v1/notifications/": {"next", "previous", "results"},
        "/api/v1/nurse/queue/": {"count", "next", "previous", "results"},
        "/api/v1/posts/{post_id}/revisions/": {"next", "previous", "results"},
    }
    for path, keys in pages.items():
        body = schema["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]
        assert set(_ref(schema, body["schema"])["properties"]) == keys, path
    similar = schema["paths"]["/api/v1/threads/similar/"]["get"]["responses"]["200"]
    assert set(_ref(schema, similar["content"]["application/json"]["schema"])["properties"]) == {
        "results"
    }


@pytest.mark.django_db
def test_public_reads_need_no_sign_in_and_writes_do(client):
    paths = _schema(client)["paths"]
    for path in (
        "/api/v1/threads/",
        "/api/v1/threads/{thread_id}/",
        "/api/v1/threads/{thread_id}/posts/",
        "/api/v1/threads/similar/",
        "/api/v1/categories/",
    ):
        assert {} in paths[path]["get"]["security"], path
        assert "401" not in paths[path]["get"]["responses"], path
    for path, method in (
        ("/api/v1/threads/", "post"),
        ("/api/v1/threads/{thread_id}/posts/", "post"),
        ("/api/v1/me/", "get"),
    ):
        assert {} not in paths[path][method]["security"], (path, method)
        assert {"401", "403"} <= set(paths[path][method]["responses"]), (path, method)


@pytest.mark.django_db
def test_each_status_an_operation_can_answer_is_documented_with_its_codes(client):
    paths = _schema(client)["paths"]
    answer = paths["/api/v1/threads/{thread_id}/nurse-answer/"]["post"]["responses"]
    assert sorted(answer) == ["201", "400", "401", "403", "404", "409", "413", "415", "429"]
    assert "`already_answered`" in answer["409"]["description"]
    assert "`thread_closed`" in answer["403"]["description"]
    close = paths["/api/v1/threads/{thread_id}/close/"]["post"]["responses"]
    assert "`already_closed`" in close["409"]["description"]
    assert "409" not in paths["/api/v1/threads/{thread_id}/posts/"]["post"]["responses"]
    # Deleting answers the deleted post (a tombstone), not an empty 204.
    delete = paths["/api/v1/posts/{post_id}/"]["delete"]["responses"]
    assert "204" not in delete and "200" in delete
    assert not any(
        "4XX" in op.get("responses", {})
        for ops in paths.values()
        for op in ops.values()
        if isinstance(op, dict)
    )
