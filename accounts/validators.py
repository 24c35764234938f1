import re

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator

DISPLAY_NAME_MIN, DISPLAY_NAME_MAX = 3, 30

display_name_format = RegexValidator(
    regex=r"^[A-Za-z0-9_\- ]+$",
    message="Use letters, digits, spaces, '_' or '-' only.",
    code="invalid_characters",
)

# Members may not pass themselves off as staff: words that only staff accounts carry.
_RESERVED_WORDS = ("nurse", "moderator", "admin", "haven", "staff", "formermember", "system")


def normalise_display_name(value: str) -> str:
    """Trim, and fold runs of spaces: "  Bonnie   52 " is "Bonnie 52"."""
    return re.sub(r"\s+", " ", value).strip()


def validate_member_display_name(value: str) -> None:
    """A display name a member may choose for themselves (sign-up and profile edits)."""
    folded = re.sub(r"[\s_\-]", "", value).lower()
    if any(word in folded for word in _RESERVED_WORDS):
        raise ValidationError(
            "This name is reserved for the Haven team; please choose another.",
            code="reserved",
        )
