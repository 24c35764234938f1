"""The served OpenAPI schema as schemathesis sees it, calling the app in-process over WSGI."""

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from tests.factories import PASSWORD

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def load_schema() -> Any:
    """The schema the app serves, generated without a database (at collection time)."""
    raw = SchemaGenerator().get_schema(request=None, public=True)
    loaded = schemathesis.openapi.from_dict(json.loads(OpenApiJsonRenderer().render(raw)))
    handler = WSGIHandler()

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        # A real server always says who is asking; allauth's rate limits need it.
        environ.setdefault("REMOTE_ADDR", "127.0.0.1")
        return handler(environ, start_response)

    loaded.app = app
    return loaded


def session_token(client: Any, email: str) -> str:
    """A real allauth session token, through the app client's sign-in."""
    response = client.post(
        "/_allauth/app/v1/auth/login",
        {"email": email, "password": PASSWORD},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    return str(response.json()["meta"]["session_token"])


@contextmanager
def in_test_transaction() -> Iterator[None]:
    """Keep the WSGI handler from closing the test's connection around each request.

    Django's test client does the same; enter this after its last request, which
    reconnects the receivers when it finishes.
    """
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def unthrottled(settings: Any) -> None:
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": dict.fromkeys(
            settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "100000/min"
        ),
    }
