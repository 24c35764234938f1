"""allauth's browser forms, labelled in Haven's words (``ACCOUNT_FORMS``).

Apart from ``accounts.forms``: allauth builds its sign-up form on ``accounts.forms.SignupForm``
when its forms module is imported, so that module must not import allauth's forms.
"""

from typing import Any, ClassVar

from allauth.account import forms as allauth_forms
from django import forms


class _SentenceCase(forms.Form):
    """allauth's browser forms with Haven's labels (sentence case), the label alone naming
    each field (no placeholder repeating it). The API's forms are allauth's own."""

    labels: ClassVar[dict[str, str]] = {}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            field.label = self.labels.get(name, field.label)
            field.widget.attrs.pop("placeholder", None)


class LoginForm(_SentenceCase, allauth_forms.LoginForm):
    labels: ClassVar[dict[str, str]] = {"remember": "Keep me signed in on this device"}


class ChangePasswordForm(_SentenceCase, allauth_forms.ChangePasswordForm):
    labels: ClassVar[dict[str, str]] = {
        "oldpassword": "Current password",
        "password1": "New password",
        "password2": "New password again",
    }


class SetPasswordForm(_SentenceCase, allauth_forms.SetPasswordForm):
    labels: ClassVar[dict[str, str]] = {"password2": "Password again"}


class ResetPasswordKeyForm(_SentenceCase, allauth_forms.ResetPasswordKeyForm):
    labels: ClassVar[dict[str, str]] = {
        "password1": "New password",
        "password2": "New password again",
    }
