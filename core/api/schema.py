"""OpenAPI: document the X-Session-Token scheme and fold in allauth's headless endpoints.

Imported by ``config.urls`` so the extension is registered before a schema is generated.
"""

import json
import re
from typing import Any, Literal

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework.permissions import SAFE_METHODS


class HavenAutoSchema(AutoSchema):
    """Names nested serializers after their view: ``MeApi.OutputSerializer`` is ``MeOutput``.

    Every view declares its own ``InputSerializer``/``OutputSerializer`` (STYLE.md), so the
    bare class names would collide across views. A permission class that lets anyone read
    (``anonymous_reads = True``) makes its safe methods public in the schema too.
    """

    def get_auth(self) -> list[dict[str, Any]]:
        auths: list[dict[str, Any]] = super().get_auth()
        public = any(getattr(p, "anonymous_reads", False) for p in self.view.get_permissions())
        if public and self.method in SAFE_METHODS and {} not in auths:
            auths.append({})
        return auths

    def _get_request_body(self, direction: str = "request") -> Any:
        # drf-spectacular documents a body for POST, PUT and PATCH only; a view whose DELETE
        # reads one (``delete_reads_body = True``: erasing an account with its password)
        # has it documented like a POST's.
        if self.method == "DELETE" and getattr(self.view, "delete_reads_body", False):
            self.method = "POST"
            try:
                return super()._get_request_body(direction)
            finally:
                self.method = "DELETE"
        return super()._get_request_body(direction)

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
    match_subclasses = True  # accounts.tokens.SessionTokenAuthentication
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
    _add_served_statuses(paths, components["responses"], components["schemas"])
    result.setdefault("paths", {}).update(paths)
    return result


def _allauth_response(ref: str) -> dict[str, str]:
    return {"$ref": f"#/components/responses/{ref}"}


def _add_served_statuses(
    paths: dict[str, Any], responses: dict[str, Any], schemas: dict[str, Any]
) -> None:
    """What allauth's endpoints answer here beyond its own specification, in its shape.

    Every request passes Haven's guard first (400 for characters that cannot be stored,
    413 for a body over the cap); a client that is neither ``app`` nor ``browser`` is 404;
    an unsafe browser request without its CSRF token is 403, and is rate limited (429); an
    operation that reads the session answers 401 without one and 410 for one that ended
    (whose ``meta.is_authenticated`` allauth sends as ``null``).
    """
    responses["AllauthTooLarge"] = {
        "description": "The body is over the size cap.",
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "status": {"type": "integer", "enum": [413]},
                        "errors": {
                            "$ref": "#/components/schemas/AllauthErrorResponse/properties/errors"
                        },
                    },
                    "required": ["status", "errors"],
                }
            }
        },
    }
    meta = schemas["AllauthAuthenticationMeta"]["allOf"][1]["properties"]["is_authenticated"]
    meta["nullable"] = True
    for path, operations in paths.items():
        for method, operation in operations.items():
            if not (isinstance(operation, dict) and "responses" in operation):
                continue
            served = operation["responses"]
            served.setdefault("400", _allauth_response("AllauthError"))
            if "{client}" in path:
                served.setdefault("404", _allauth_response("AllauthNotFound"))
            if method.upper() not in SAFE_METHODS:
                served.setdefault("403", _allauth_response("AllauthForbidden"))
                served.setdefault("413", _allauth_response("AllauthTooLarge"))
                served.setdefault("429", _allauth_response("AllauthTooManyRequests"))
            reads_session = any(
                parameter.get("$ref", "").endswith("/AllauthSessionToken")
                for parameter in operation.get("parameters", [])
            )
            if reads_session:
                served.setdefault("401", _allauth_response("AllauthUnauthenticated"))
                served.setdefault("410", _allauth_response("AllauthSessionGone"))
            operation["responses"] = dict(sorted(served.items()))


_ERROR_SCHEMA = {
    "type": "object",
    "description": "Every /api/v1/ error: a machine-readable code, a sentence, field errors.",
    "properties": {
        "code": {"type": "string", "example": "thread_closed"},
        "detail": {"type": "string"},
        "fields": {
            "type": "object",
            "description": "Invalid fields by name; nested ones by dotted path (`ids.1`).",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
        },
    },
    "required": ["code", "detail", "fields"],
}
ERROR_REF = {"$ref": "#/components/schemas/Error"}


def conflict(*codes: str) -> OpenApiResponse:
    """A 409 a view declares: ``responses={..., 409: conflict("already_answered")}``."""
    return OpenApiResponse(response=ERROR_REF, description=_codes("State conflict", codes))


def _codes(what: str, codes: tuple[str, ...] | list[str]) -> str:
    return f"{what}: " + ", ".join(f"`{code}`" for code in codes) + "."


# What every operation may answer, by what it is (API.md's statuses and codes).
_ALWAYS = {
    "400": _codes("Invalid input, with `fields`", ["invalid", "bad_request"]),
    "429": _codes("Throttled; `Retry-After` says when to try again", ["throttled"]),
}
_SIGNED_IN = {
    "401": _codes("Not signed in", ["not_authenticated"]),
    "403": _codes(
        "Not allowed",
        [
            "permission_denied",
            "email_unverified",
            "suspended",
            "not_nurse",
            "not_allowed",
            "not_author",
            "thread_closed",
            "not_editable",
            "…",
        ],
    ),
}
_WITH_BODY = {
    "400": _codes(
        "Invalid input, with `fields`; or content refused as written, without",
        ["invalid", "bad_request", "blocked_content"],
    ),
    "413": _codes("The body is over the size cap", ["too_large"]),
    "415": _codes("The body is not JSON or a form", ["unsupported_media_type"]),
}
_SAFE = {"get", "head", "options"}


def add_error_responses(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Document API.md's error shape, and each status every /api/v1/ operation can answer.

    400 and 429 anywhere; 401 and 403 where signing in is needed; 404 where the path names
    a row; 413, 415 and 400 ``blocked_content`` where there is a body; 409 where the view
    declares it, naming its codes (``conflict``). Every one of them has the ``Error`` shape.
    """
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = _ERROR_SCHEMA
    for path, operations in result.get("paths", {}).items():
        if not path.startswith("/api/v1/"):
            continue
        for method, operation in operations.items():
            if not (isinstance(operation, dict) and "responses" in operation):
                continue
            statuses = dict(_ALWAYS)
            if {} not in operation.get("security", [{}]):
                statuses.update(_SIGNED_IN)
            if "{" in path:
                statuses["404"] = _codes("No such row, or not visible to you", ["not_found"])
            elif any(p["name"] == "page" for p in operation.get("parameters", [])):
                statuses["404"] = _codes("No such page: past the last one", ["not_found"])
            if "requestBody" in operation or method not in _SAFE:
                statuses.update(_WITH_BODY)
            for status, description in statuses.items():
                operation["responses"].setdefault(
                    status,
                    {
                        "description": description,
                        "content": {"application/json": {"schema": ERROR_REF}},
                    },
                )
            operation["responses"] = dict(sorted(operation["responses"].items()))
    return result
