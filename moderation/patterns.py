"""What a watched word means as a pattern, and whether an admin may save it. Pure: no models.

A *word* matches as a whole word, a *phrase* as whole words with any run of whitespace
between them, a *regex* as written. Words and phrases never match inside a longer word
("kill" is not in "skill"). ``moderation.watched`` compiles them; this module only checks
them, so the model's ``clean`` and the admin form say what is wrong before anything is
saved, and a broken entry can never reach the compiled set.
"""

import re

from django.core.exceptions import ValidationError

MAX_PATTERN_LENGTH = 200  # the model field's length: a pattern, not a document
# Texts a pattern must not match with nothing (it would match every post).
_EMPTY_PROBES = ("", " ", "a", "hello world", "Hello, World! 123")
_BACKREFERENCE = re.compile(r"\\[1-9]|\(\?P=")


def phrase_tokens(word: str) -> list[str]:
    return word.split()


def check_pattern(*, word: str, match: str) -> None:
    """Refuse a watched word that is empty, too long, a bad regex, or matches nothing at all.

    Raises ``ValidationError({"word": [...]})``: the admin shows it on the field.
    """
    problems = _problems(word, match)
    if problems:
        raise ValidationError({"word": problems})


def _problems(word: str, match: str) -> list[str]:
    if not word.strip():
        return ["Enter the word, phrase or pattern to watch for."]
    if len(word) > MAX_PATTERN_LENGTH:
        return [f"At most {MAX_PATTERN_LENGTH} characters (this has {len(word)})."]
    if match == "word":
        if len(word.split()) > 1:
            return ["A word has no spaces: choose “Phrase” to watch for several words."]
        return []
    if match == "phrase":
        return []
    try:
        compiled = re.compile(word)
        # Compiled with the others, in one alternation: inline flags must be local there.
        re.compile(f"(?:x)|(?:{word})")
    except (re.error, RecursionError, OverflowError) as exc:
        return [f"This is not a valid regular expression: {exc}."]
    if compiled.groupindex or _BACKREFERENCE.search(word):
        return [
            "Named groups and backreferences are not allowed (patterns are combined): "
            "use (?:…) for grouping."
        ]
    if any(m.end() == m.start() for probe in _EMPTY_PROBES for m in compiled.finditer(probe)):
        return [
            "This pattern matches an empty string, so it would match every post: "
            "make it need at least one character (e.g. + instead of *)."
        ]
    return []
