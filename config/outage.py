"""The answer while the database cannot be reached: 503 with Retry-After, never a 500."""

from django.http import HttpRequest, HttpResponse, JsonResponse

from core.api.exceptions import error_body

# How long a client (or a load balancer) should wait before trying again.
RETRY_AFTER_SECONDS = 30


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
