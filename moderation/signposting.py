"""Signposting templates: a small, safe template language over the support services.

Templates are Django templates restricted to ``{% if %}`` and a handful of filters, over a
fixed context (``services.<key>.<field>``, ``nurse.<field>``, ``disclaimer_url``,
``privacy_url``). Everything a template refers to is checked when it is saved, so a typo
is a clear error in the admin, never a blank in a published answer; and the engine that
renders them knows nothing else (``signposting_library``), so a row written around that
check fails to render, with a clear error, rather than running anything more. The output
is Markdown and goes through ``forum.rendering`` like any post.
"""

import re
from typing import Any

from django.core.exceptions import ValidationError
from django.template import Context, Engine, TemplateSyntaxError
from django.template.base import Lexer, TokenType
from django.utils.text import smart_split

from moderation.signposting_library import ALLOWED_FILTERS, ALLOWED_TAGS

SERVICE_FIELDS = frozenset(
    {
        "name",
        "description",
        "phone",
        "relay_prefix",
        "text_phone",
        "email",
        "url",
        "notes",
        "hours",
        "open_now",
        "next_opening",
    }
)
NURSE_FIELDS = frozenset({"title", "sign_off"})
PLAIN_NAMES = frozenset({"disclaimer_url", "privacy_url"})
_OPERATORS = frozenset({"and", "or", "not", "in", "is", "==", "!=", "<", ">", "<=", ">="})
_LITERAL = re.compile(r"""^(?:"[^"]*"|'[^']*'|-?\d+(?:\.\d+)?|True|False|None)$""")


class _SignpostingEngine(Engine):
    # Engine adds Django's built-in tags and filters to any ``builtins`` it is given: none.
    default_builtins = []


# No loaders, no libraries to {% load %}, and only the library of allowed tags and filters.
ENGINE = _SignpostingEngine(
    builtins=["moderation.signposting_library"],
    autoescape=False,
    string_if_invalid="",
)


def _check_path(path: str, service_keys: frozenset[str] | set[str]) -> str | None:
    parts = path.split(".")
    head = parts[0]
    if head == "services":
        if len(parts) != 3:
            return f"“{path}”: write services.<service>.<field>, e.g. services.helpline.phone."
        if parts[1] not in service_keys:
            known = ", ".join(sorted(service_keys)) or "none yet"
            return f"“{path}”: there is no support service “{parts[1]}” (known: {known})."
        if parts[2] not in SERVICE_FIELDS:
            fields = ", ".join(sorted(SERVICE_FIELDS))
            return f"“{path}”: a service has no field “{parts[2]}” (fields: {fields})."
        return None
    if head == "nurse":
        if len(parts) != 2 or parts[1] not in NURSE_FIELDS:
            return f"“{path}”: use nurse.title or nurse.sign_off."
        return None
    if head in PLAIN_NAMES and len(parts) == 1:
        return None
    return f"“{path}” is not something a signposting template can use."


def _check_expression(expression: str, service_keys: frozenset[str] | set[str]) -> list[str]:
    """One ``{{ }}`` body, or one operand of an ``{% if %}``: a variable with filters."""
    variable, *filters = expression.split("|")
    problems = []
    variable = variable.strip()
    problem = None
    if variable and not _LITERAL.match(variable):
        problem = _check_path(variable, service_keys)
    if problem:
        problems.append(problem)
    for item in filters:
        name, _, argument = item.partition(":")
        if name.strip() not in ALLOWED_FILTERS:
            allowed = ", ".join(sorted(ALLOWED_FILTERS))
            problems.append(f"The filter “{name.strip()}” is not allowed (allowed: {allowed}).")
        if argument and not _LITERAL.match(argument.strip()):
            problems.append(f"The filter argument “{argument}” must be a quoted text or number.")
    return problems


def check_template(body: str, *, service_keys: frozenset[str] | set[str]) -> None:
    """Refuse a template that would fail, or say nothing, when an answer is published."""
    problems: list[str] = []
    for token in Lexer(body).tokenize():
        if token.token_type == TokenType.VAR:
            problems += _check_expression(token.contents, service_keys)
        elif token.token_type == TokenType.BLOCK:
            tag, *bits = list(smart_split(token.contents))
            if tag not in ALLOWED_TAGS:
                problems.append(
                    f"The tag {{% {tag} %}} is not allowed: only if, elif, else and endif."
                )
                continue
            for bit in bits:
                if bit not in _OPERATORS:
                    problems += _check_expression(bit, service_keys)
    if not problems:
        try:
            ENGINE.from_string(body)
        except TemplateSyntaxError as exc:
            problems.append(f"The template does not parse: {exc}")
        except RecursionError:
            problems.append("The template nests too deeply.")
    if problems:
        raise ValidationError({"body": problems})


def render_template(body: str, context: dict[str, Any]) -> str:
    """Render a template; one that does not parse (only possible for a row written around
    ``check_template``) is a ``ValidationError`` saying what to fix, never a server error."""
    try:
        template = ENGINE.from_string(body)
    except TemplateSyntaxError as exc:
        raise ValidationError(f"It cannot be used until it is fixed in the admin: {exc}") from exc
    except RecursionError as exc:
        raise ValidationError("It nests too deeply: fix it in the admin.") from exc
    return template.render(Context(context, autoescape=False)).strip()
