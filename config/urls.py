import sys

from allauth import urls as allauth_urls
from allauth.headless import urls as headless_urls
from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.urls import URLPattern, URLResolver, include, path
from django.views import defaults
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

import core.api.schema  # noqa: F401  (registers the X-Session-Token OpenAPI extension)
from accounts.middleware import headless_error, headless_error_response
from config.health import health
from config.outage import database_unreachable, service_unavailable
from core.api.exceptions import error_body

# Haven keeps no phone numbers, yet allauth serves its phone endpoints whatever the
# settings. Left out of the URLs, they leave allauth's specification too: it documents
# only the paths that resolve.
_NOT_SERVED = {"manage_phone", "verify_phone", "resend_phone_verification_code"}


def _without(
    patterns: list[URLPattern | URLResolver], names: set[str]
) -> list[URLPattern | URLResolver]:
    kept: list[URLPattern | URLResolver] = []
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            pattern = URLResolver(
                pattern.pattern,
                _without(pattern.url_patterns, names),
                pattern.default_kwargs,
                pattern.app_name,
                pattern.namespace,
            )
        elif pattern.name in names:
            continue
        kept.append(pattern)
    return kept


allauth_headless = (_without(headless_urls.urlpatterns, _NOT_SERVED), headless_urls.app_name)

# allauth's browser pages that Haven does not offer: managing email addresses (adding,
# removing, making one primary; members change nothing but their name and reply emails on
# their settings page), re-authentication (it guards only those) and sign-in by code (off).
# Unrouted, they are 404s, and nothing links to them.
ACCOUNT_PAGES_NOT_OFFERED = {
    "account_email",
    "account_reauthenticate",
    "account_confirm_login_code",
}
allauth_pages = _without(allauth_urls.urlpatterns, ACCOUNT_PAGES_NOT_OFFERED)

api_v1 = [
    path("", include("accounts.urls")),
    path("", include("forum.urls")),
    path("", include("moderation.urls")),
]

urlpatterns = [
    path("health/", health, name="health"),
    path(settings.ADMIN_URL, admin.site.urls),
    path("_allauth/", include(allauth_headless)),
    path("api/v1/", include((api_v1, "api"), namespace="api")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    # allauth's browser views (sign up, verify, sign in and out, passwords) and a
    # member's own pages beside them; app clients keep the headless API above.
    path("account/", include("accounts.page_urls")),
    path("account/", include(allauth_pages)),
    # The pages people use in a browser, last: every other prefix is matched first.
    path("", include("moderation.page_urls")),
    path("", include("forum.page_urls")),
]


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


_ERRORS = {
    400: ("Something is wrong with that link", "Haven could not read that request."),
    403: ("You cannot see this page", "You are not allowed to see this page."),
    404: ("Page not found", "There is no page here, or you may not see it."),
    500: ("Something went wrong", "Something went wrong on our side. Please try again soon."),
}


def _error_page(status: int, *, heading: str = "", message: str = "") -> HttpResponse:
    """A branded page for a non-API path (the status's own words unless told). Rendered
    without the request, so no context processor runs and nothing reads the database: it
    serves a 500 whatever failed."""
    heading, message = heading or _ERRORS[status][0], message or _ERRORS[status][1]
    context = {"title": heading, "heading": heading, "message": message}
    return HttpResponse(render_to_string("haven/error.html", context), status=status)


def handler400(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return JsonResponse(error_body("bad_request", "The request could not be read."), status=400)
    return _error_page(400)


def handler403(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return JsonResponse(error_body("permission_denied", "Not allowed."), status=403)
    return _error_page(403)


_FORM_EXPIRED = (
    "This form has expired",
    "Haven could not accept what you sent: the page had been open a long time, or you signed "
    "in or out in another tab since. Nothing was saved. Copy your text if you wrote any, then "
    "go back, reload the page and send it again. If this keeps happening, check that your "
    "browser accepts cookies from Haven.",
)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """``CSRF_FAILURE_VIEW``: a POST without its CSRF token, or with a stale one, is refused
    in its area's shape: API.md's JSON for ``/api/``, allauth's for ``/_allauth/``, else a
    branded page telling the member what to do (Django's own is bare, in English, unstyled)."""
    if _is_api(request):
        return JsonResponse(error_body("permission_denied", f"CSRF Failed: {reason}"), status=403)
    if request.path.startswith("/_allauth/"):
        message = f"A browser session needs its CSRF token: {reason}"
        return headless_error_response([headless_error(message, "csrf_failed")], status=403)
    heading, message = _FORM_EXPIRED
    return _error_page(403, heading=heading, message=message)


def handler404(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return JsonResponse(error_body("not_found", "Not found."), status=404)
    return _error_page(404)


def handler500(request: HttpRequest) -> HttpResponse:
    """Django calls this inside the ``except`` that caught the failure, wherever it was
    raised (a view, or a middleware such as sessions or authentication before the view).

    A database that cannot be reached now (refused, restarting, gone away:
    ``database_unreachable``) is transient, not a bug: 503 and when to try again, never a
    500. Any other database error, a deadlock included, stays a 500, logged like any bug,
    so a lock-order regression never passes for an outage.
    """
    if database_unreachable(sys.exception()):
        return service_unavailable(request)
    if _is_api(request):
        return JsonResponse(
            error_body("server_error", "Something went wrong on our side."), status=500
        )
    try:
        return _error_page(500)
    except Exception:  # a broken template (or static manifest) must not hide the failure
        return defaults.server_error(request)
