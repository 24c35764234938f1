import re
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db.models import F, Func, Value
from django.db.models.functions import Lower, Replace

DISPLAY_NAME_MIN, DISPLAY_NAME_MAX = 3, 30

display_name_format = RegexValidator(
    regex=r"^[A-Za-z0-9_\- ]+$",
    message="Use letters, digits, spaces, '_' or '-' only.",
    code="invalid_characters",
)

# Members may not pass themselves off as staff: words that only staff accounts carry.
_RESERVED_WORDS = ("nurse", "moderator", "admin", "haven", "staff", "formermember", "system")
RESERVED_MESSAGE = "This name is reserved for the Haven team; please choose another."

# How names that look alike are folded together, in order, after lower-casing. Names are
# ASCII (display_name_format), so the threats are ASCII look-alikes: Unicode's confusable
# tables (UTS #39) cover only rn/m and l/1/I of these and no leet digits, so the table is
# written here. Digits map one-to-one (6/g, 9/q) so "Member 16" and "Member 19" stay apart.
_SKELETON_STEPS: tuple[tuple[str, str], ...] = (
    (" ", ""),
    ("_", ""),
    ("-", ""),
    ("0", "o"),
    ("1", "l"),
    ("i", "l"),
    ("2", "z"),
    ("3", "e"),
    ("4", "a"),
    ("5", "s"),
    ("6", "g"),
    ("7", "t"),
    ("8", "b"),
    ("9", "q"),
    ("rn", "m"),
    ("vv", "w"),
)


def display_name_skeleton(value: str) -> str:
    """What a name looks like: "B0nnie_52" and "bonnie 52" share the skeleton "bonnlesz"."""
    skeleton = value.lower()
    for old, new in _SKELETON_STEPS:
        skeleton = skeleton.replace(old, new)
    return skeleton


def display_name_skeleton_sql(field: str) -> Func:
    """``display_name_skeleton`` as a database expression (PostgreSQL and SQLite alike).

    The same steps in the same order: the unique index and the Python check agree.
    """
    expression: Any = Lower(F(field))
    for old, new in _SKELETON_STEPS:
        expression = Replace(expression, Value(old), Value(new))
    return expression


def normalise_display_name(value: str) -> str:
    """Trim, and fold runs of spaces: "  Bonnie   52 " is "Bonnie 52"."""
    return re.sub(r"\s+", " ", value).strip()


def looks_like(value: str, words: tuple[str, ...] | list[str]) -> bool:
    """Whether the name, by skeleton, contains any of the words (titles, reserved words)."""
    skeleton = display_name_skeleton(value)
    return any(display_name_skeleton(word) in skeleton for word in words if word.strip())


def validate_member_display_name(value: str) -> None:
    """A display name a member may choose for themselves (sign-up and profile edits)."""
    if looks_like(value, _RESERVED_WORDS):
        raise ValidationError(RESERVED_MESSAGE, code="reserved")
