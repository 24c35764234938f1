"""allauth's headless endpoints answer in allauth's error shape, even when a request races.

Two sign-ups for the same email or display name can both pass the form's checks; the
database constraint stops the second, and this turns its IntegrityError into the 400 the
client would have had a moment earlier. JSON nested deeper than Python's parser allows is a
400 too. And where allauth itself answers an error without a body of its shape (a body
that is not a JSON object gets an empty HTML 400), the answer is given that shape, keeping
its status. Nothing else is touched.
"""

from collections.abc import Callable

from django.db import IntegrityError
from django.http import HttpRequest, HttpResponse, JsonResponse

from accounts.services import TAKEN, unique_violation_field


def headless_error(message: str, code: str, param: str | None = None) -> dict[str, str]:
    """One error in allauth headless's documented shape."""
    error = {"message": message, "code": code}
    if param:
        error["param"] = param
    return error


def headless_error_response(errors: list[dict[str, str]], status: int = 400) -> JsonResponse:
    return JsonResponse({"status": status, "errors": errors}, status=status)


_UNSHAPED = {
    400: "The request body must be a JSON object.",
    403: "Not allowed: a browser session needs its CSRF token.",
    404: "Not found.",
    405: "Method not allowed.",
}


def _error(message: str, code: str, param: str | None = None) -> JsonResponse:
    return headless_error_response([headless_error(message, code, param)])


class HeadlessErrorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            request.path.startswith("/_allauth/")
            and response.status_code >= 400
            and not response.get("Content-Type", "").startswith("application/json")
        ):
            return headless_error_response(
                [headless_error(_UNSHAPED.get(response.status_code, "Not allowed."), "invalid")],
                status=response.status_code,
            )
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not request.path.startswith("/_allauth/"):
            return None
        if isinstance(exception, IntegrityError):
            field = unique_violation_field(exception)
            if field is not None:
                return _error(TAKEN[field], "taken", field)
        if isinstance(exception, RecursionError):
            return _error("The request body is nested too deeply.", "invalid")
        return None
