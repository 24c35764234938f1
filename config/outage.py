"""The answer while the database cannot be reached: 503 with Retry-After, never a 500."""

import psycopg
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse

from core.api.exceptions import error_body

# How long a client (or a load balancer) should wait before trying again.
RETRY_AFTER_SECONDS = 30
# The server going away or not yet there: shutting down (by an administrator or a crash),
# or starting up. Class 08 (connection exceptions) is matched whole.
_GOING_AWAY = {"57P01", "57P02", "57P03"}


def database_unreachable(error: BaseException | None) -> bool:
    """Whether ``error`` says the database cannot be reached now: an outage, not a bug.

    That is a connection that failed or was lost (psycopg's OperationalError with no
    SQLSTATE: refused, timed out, closed under it; SQLSTATE class 08), a server shutting
    down or starting up (57P01-57P03), or a connection already closed (InterfaceError).
    Anything the database answered itself (a deadlock's loser, 40P01; a serialization
    failure; a statement timeout) is a bug to fix, not an outage to wait out.
    """
    if isinstance(error, InterfaceError):
        return True
    cause = error.__cause__ if isinstance(error, OperationalError) else None
    if not isinstance(cause, psycopg.OperationalError):
        return False
    state = cause.sqlstate
    return state is None or state.startswith("08") or state in _GOING_AWAY


def service_unavailable(request: HttpRequest) -> HttpResponse:
    """JSON for API and allauth clients, a plain page for everything else."""
    detail = "Haven is briefly unavailable. Please try again in a moment."
    response: HttpResponse
    if request.path.startswith(("/api/", "/_allauth/")):
        response = JsonResponse(error_body("service_unavailable", detail), status=503)
    else:
        response = HttpResponse(detail, content_type="text/plain; charset=utf-8", status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response
