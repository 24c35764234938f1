"""OpenAPI: document the X-Session-Token scheme and fold in allauth's headless endpoints.

Imported by ``config.urls`` so the extension is registered before a schema is generated.
"""

import json
import re
from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class XSessionTokenScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    target_class = (
        "allauth.headless.contrib.rest_framework.authentication.XSessionTokenAuthentication"
    )
    name = "sessionToken"

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
    result.setdefault("paths", {}).update(spec.get("paths", {}))
    known = {tag["name"] for tag in result.get("tags", [])}
    result.setdefault("tags", []).extend(
        tag for tag in spec.get("tags", []) if tag["name"] not in known
    )
    return result
