from typing import Any

from django import forms
from django.core.validators import MinLengthValidator

from accounts.models import User
from accounts.validators import (
    DISPLAY_NAME_MAX,
    DISPLAY_NAME_MIN,
    display_name_format,
    normalise_display_name,
    validate_member_display_name,
)


class SignupForm(forms.Form):
    """Extra sign-up field: the public display name (allauth headless validates it too)."""

    display_name = forms.CharField(
        max_length=DISPLAY_NAME_MAX,
        validators=[
            MinLengthValidator(DISPLAY_NAME_MIN),
            display_name_format,
            validate_member_display_name,
        ],
        help_text="Shown on your posts. No real name needed.",
    )

    def clean_display_name(self) -> str:
        name = normalise_display_name(self.cleaned_data["display_name"])
        if User.objects.filter(display_name__iexact=name).exists():
            raise forms.ValidationError("This display name is already taken.", code="taken")
        return name

    def signup(self, request: Any, user: User) -> None:
        """allauth calls this after saving; ``AccountAdapter.save_user`` already set the name."""
