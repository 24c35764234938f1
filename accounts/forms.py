from typing import Any

from allauth.account.adapter import get_adapter
from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.hashers import make_password
from django.core.validators import MinLengthValidator

from accounts.models import User
from accounts.services import check_member_display_name
from accounts.validators import DISPLAY_NAME_MAX, DISPLAY_NAME_MIN, display_name_format


class SignupForm(forms.Form):
    """Extra sign-up field: the public display name (allauth headless validates it too)."""

    display_name = forms.CharField(
        max_length=DISPLAY_NAME_MAX,
        validators=[MinLengthValidator(DISPLAY_NAME_MIN), display_name_format],
        help_text="Shown on your posts. No real name needed.",
    )

    def clean_display_name(self) -> str:
        """Reserved words, staff titles, names taken: the service's one check."""
        return check_member_display_name(self.cleaned_data["display_name"])

    def clean(self) -> dict[str, Any]:
        """A valid sign-up for a registered address costs what a new account costs.

        allauth (the subclass of this form) answers a registered address exactly as a new
        one, but only a new account's password is hashed (~0.3 s with PBKDF2), so the
        answer's speed told whether the address has an account (13-42 ms against
        246-324 ms). The registered path hashes the submitted password too, and throws it
        away. Invalid sign-ups hash nothing on either path.
        """
        cleaned = super().clean() or self.cleaned_data
        password = cleaned.get("password") or cleaned.get("password1")
        if getattr(self, "account_already_exists", False) and password and not self.errors:
            make_password(password)
        return cleaned

    def signup(self, request: Any, user: User) -> None:
        """allauth calls this after saving; ``AccountAdapter.save_user`` already set the name."""


class AdminLoginForm(AdminAuthenticationForm):
    """The admin's sign-in goes through allauth's, so its failed-login limit holds here too.

    Wrong passwords count against the same per-address (and per-IP) limit as the API's
    sign-in; while it is exceeded even the right password is refused, in both places.
    """

    def clean(self) -> dict[str, Any]:
        email = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if email is not None and password:
            # Raises "too many login attempts" as a form error while the limit holds.
            self.user_cache = get_adapter(self.request).authenticate(
                self.request, email=email, password=password
            )
            if self.user_cache is None:
                raise self.get_invalid_login_error()
            self.confirm_login_allowed(self.user_cache)
        return self.cleaned_data


class SettingsForm(forms.Form):
    """The settings page: what ``PATCH /api/v1/me/`` changes for a member, with its limits
    (``user_update_profile`` checks the rest)."""

    display_name = forms.CharField(
        label="Display name",
        min_length=DISPLAY_NAME_MIN,
        max_length=DISPLAY_NAME_MAX,
        help_text="Shown on your posts. No real name needed.",
    )
    email_on_reply = forms.BooleanField(
        label="Email me when someone replies",
        required=False,
        help_text="To a thread you started or follow.",
    )


class EraseForm(forms.Form):
    """The erase page: what ``DELETE /api/v1/me/`` takes."""

    password = forms.CharField(
        label="Your password",
        max_length=4096,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        help_text="Type it again: it says the account is yours.",
    )
    delete_posts = forms.BooleanField(
        label="Also delete my posts",
        required=False,
        help_text='Otherwise they stay, shown as written by "Former member".',
    )
