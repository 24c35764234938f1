"""A member's own pages beside allauth's: settings (display name, reply emails), export
of her data, erasure of her account.

Thin like the API views (``accounts.apis.MeApi``, ``MeExportApi``), and on the same
services and throttles: ``user_update_profile`` decides what she may change,
``member_export`` and ``member_erase`` (after ``check_erase_password``) do the rest, and the
API's ``export`` and ``erase`` rates count the page's requests with the API's. Every page is
for a signed-in account holder (anyone else is sent to sign in), staff included, as the API.
"""

import math
from typing import Any

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.forms import Form
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_http_methods
from rest_framework.renderers import JSONRenderer

from accounts.forms import EraseForm, SettingsForm
from accounts.models import User
from accounts.privacy import check_erase_password, export_filename, member_erase, member_export
from accounts.services import user_update_profile
from core.api.throttling import throttle_wait
from core.errors import Forbidden
from core.pages import render_page


def _too_many(request: HttpRequest, wait: float | int) -> HttpResponse:
    """The branded 429 page, with when to try again."""
    minutes = max(1, round(wait / 60))
    message = (
        f"You have done this too often. Please try again in {minutes} "
        f"minute{'s' if minutes != 1 else ''}."
    )
    response = render_page(
        request, "429.html", {"message": message}, title="Too many attempts", status=429
    )
    response["Retry-After"] = str(max(1, math.ceil(wait)))
    return response


def _form_page(
    request: HttpRequest, template: str, form: Form, *, title: str, status: int = 400
) -> HttpResponse:
    """A form's page: "Error:" first in its title and ``status`` once the form failed."""
    failed = bool(form.errors)
    return render_page(
        request,
        template,
        {"form": form},
        title=title,
        status=status if failed else 200,
        failed=failed,
    )


def _add_errors(form: Form, exc: ValidationError) -> None:
    """A service's ValidationError shown on the form: next to its field, else at the top."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc)
        return
    for field, errors in exc.message_dict.items():
        form.add_error(field if field in form.fields else None, errors)


def _changes(user: User, cleaned: dict[str, Any]) -> dict[str, Any]:
    """Only what she changed goes to the service, as the API's PATCH sends only what it
    names: a suspended member may still turn reply emails off without her name counting
    as a change."""
    return {field: value for field, value in cleaned.items() if getattr(user, field) != value}


@login_required
@require_http_methods(["GET", "POST"])
def settings_page(request: HttpRequest) -> HttpResponse:
    """Display name and reply emails (``user_update_profile``), and links to the password,
    export and erase pages."""
    user: User = request.user  # type: ignore[assignment]
    status = 400  # if the form fails: the API's status for the same refusal
    if request.method == "POST":
        form = SettingsForm(request.POST)
        if form.is_valid():
            try:
                user_update_profile(user=user, **_changes(user, form.cleaned_data))
            except ValidationError as exc:
                _add_errors(form, exc)
            except Forbidden as exc:
                form.add_error(None, str(exc.detail))
                status = int(exc.status)
            else:
                messages.success(request, "Your settings are saved.")
                return redirect("me:settings")
    else:
        form = SettingsForm(
            initial={"display_name": user.display_name, "email_on_reply": user.email_on_reply}
        )
    return _form_page(request, "haven/account_settings.html", form, title="Settings", status=status)


@login_required
@require_http_methods(["GET", "POST"])
def export(request: HttpRequest) -> HttpResponse:
    """What the download holds; POST downloads it: ``GET /api/v1/me/export/``'s JSON, as a
    file (``member_export``, the ``export`` rate)."""
    if request.method == "POST":
        if (wait := throttle_wait(request, scope="export")) is not None:
            return _too_many(request, wait)
        body = JSONRenderer().render(member_export(request.user))  # type: ignore[arg-type]
        response = HttpResponse(body, content_type="application/json")
        response["Content-Disposition"] = f'attachment; filename="{export_filename()}"'
        return response
    return render_page(request, "haven/account_export.html", {}, title="Download my data")


@login_required
@require_http_methods(["GET", "POST"])
def erase(request: HttpRequest) -> HttpResponse:
    """Erase my account, with my password (``DELETE /api/v1/me/``: ``check_erase_password``,
    ``member_erase``, the ``erase`` rate counting every attempt); then signed out, and home."""
    user: User = request.user  # type: ignore[assignment]
    if request.method == "POST":
        if (wait := throttle_wait(request, scope="erase")) is not None:
            return _too_many(request, wait)
        form = EraseForm(request.POST)
        if form.is_valid():
            try:
                check_erase_password(user=user, password=form.cleaned_data["password"])
            except ValidationError as exc:
                _add_errors(form, exc)
            else:
                member_erase(user=user, delete_posts=form.cleaned_data["delete_posts"])
                logout(request)
                messages.success(
                    request, "Your account is erased. Thank you for being part of Haven."
                )
                return redirect("pages:home")
    else:
        form = EraseForm()
    return _form_page(request, "haven/account_erase.html", form, title="Erase my account")
