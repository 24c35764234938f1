"""OpenAPI: document the X-Session-Token scheme and fold in allauth's headless endpoints.

Imported by ``config.urls`` so the extension is registered before a schema is generated.
"""

import json
import re
from typing import Any, Literal

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema


class HavenAutoSchema(AutoSchema):
    """Names nested serializers after their view: ``MeApi.OutputSerializer`` is ``MeOutput``.

    Every view declares its own ``InputSerializer``/``OutputSerializer`` (STYLE.md), so the
    bare class names would collide across views.
    """

    def get_serializer_name(
        self, serializer: Any, direction: Literal["request", "response"]
    ) -> str:
        qualname = type(serializer).__qualname__
        if "." not in qualname:
            return str(super().get_serializer_name(serializer, direction))
        owner, _, name = qualname.rpartition(".")
        owner = owner.split(".")[-1].removesuffix("Api")
        return owner + name.removesuffix("Serializer")


class XSessionTokenScheme(OpenApiAuthenticationExtension):
    target_class = (
        "allauth.headless.contrib.rest_framework.authentication.XSessionTokenAuthentication"
    )
    name = "sessionToken"
    priority = 1  # over drf-spectacular's generic contrib extension

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "X-Session-Token",
            "description": (
                "`meta.session_token` from `POST /_allauth/app/v1/auth/login` "
                "(allauth headless, app client)."
            ),
        }


_REF = re.compile(r"#/components/(\w+)/")


def add_allauth_headless(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Append allauth's own specification (sign-up, verification, login, password reset).

    Its component names are prefixed with ``Allauth`` so they never collide with ours.
    """
    from allauth.headless.spec.internal.schema import get_schema

    spec = json.loads(_REF.sub(r"#/components/\1/Allauth", json.dumps(get_schema())))
    components = result.setdefault("components", {})
    for section, items in spec.get("components", {}).items():
        target = components.setdefault(section, {})
        target.update({f"Allauth{name}": value for name, value in items.items()})
    paths = spec.get("paths", {})
    for path, operations in paths.items():
        for method, operation in operations.items():
            if isinstance(operation, dict) and "responses" in operation:
                slug = re.sub(r"\W+", "_", f"allauth_{method}_{path}").strip("_")
                operation.setdefault("operationId", slug)
    # Haven's own tags first, then allauth's, so the docs open on the forum.
    tags = result.setdefault("tags", [])
    known = {tag["name"] for tag in tags}
    for operations in result["paths"].values():
        for operation in operations.values():
            for name in operation.get("tags", []) if isinstance(operation, dict) else []:
                if name not in known:
                    known.add(name)
                    tags.append({"name": name})
    tags.extend(tag for tag in spec.get("tags", []) if tag["name"] not in known)
    result.setdefault("paths", {}).update(paths)
    return result


_ERROR_SCHEMA = {
    "type": "object",
    "description": "Every /api/v1/ error: a machine-readable code, a sentence, field errors.",
    "properties": {
        "code": {"type": "string", "example": "thread_closed"},
        "detail": {"type": "string"},
        "fields": {
            "type": "object",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
        },
    },
    "required": ["code", "detail", "fields"],
}


def add_error_responses(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Document API.md's error shape once, as the 4XX answer of every /api/v1/ operation."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = _ERROR_SCHEMA
    error = {
        "description": "400 invalid, 401 not signed in, 403 not allowed, 404, 409, 413, 429.",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
    for path, operations in result.get("paths", {}).items():
        if not path.startswith("/api/v1/"):
            continue
        for operation in operations.values():
            if isinstance(operation, dict) and "responses" in operation:
                operation["responses"].setdefault("4XX", error)
    return result
