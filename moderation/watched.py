"""Watched words: what a post's text matches, compiled once per version of the list.

The list is compiled into a handful of regular expressions and kept in process memory,
keyed by a *version* of the list. The version is read from Django's cache (Redis) and,
when the cache has none (expired, or Redis unreachable), computed from the table itself
(count, newest id, latest ``updated_at``), so a change is seen by every process even while
Redis is down. Every save or delete, through the services below or the admin (signals,
see ``apps.py``), writes the new version to the cache once it commits; the cached value
also expires after ``VERSION_TTL`` seconds, so a change made while Redis was down is seen
within that time once Redis is back.

How the list is compiled (measured in ``bench/watched_words.py``: a 10 kB post against
500 entries in well under a millisecond):

- Words and phrases of every action go into ONE trie-shaped alternation, matched against
  the lower-cased text at every word start (a zero-width look-ahead finds overlapping
  hits). Each hit is looked up in a table of entries (and its shorter whole-word
  prefixes, so "kill" is still found inside a matched "kill myself"); case-sensitive
  entries are checked against the original text at the same place. One scan instead of
  one per action: five scans of a 10 kB text cost more than the budget.
- Regular expressions are searched in the original text. A regex costs a scan of the
  whole text even when it matches nothing (~0.3 ms per 10 kB), so each gets a
  *prefilter* when it has one: literal text any match must contain (``buy`` or ``order``
  for ``(?:buy|order) now``), looked for in the lower-cased text first (a substring
  search, microseconds); it runs only when that text is there. Regexes with no literal
  text to require go into one alternation per (action, case sensitivity), run always.
"""

import logging
import re
import re._constants as sre  # the parser's opcodes: for the regexes' prefilters
import re._parser as sre_parse
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.db.models import Count, Max

from core.audit import audit_record
from moderation.models import WatchedWord
from moderation.patterns import phrase_tokens

logger = logging.getLogger(__name__)

VERSION_KEY = "moderation:watched-words:version"
VERSION_TTL = 60  # seconds a cached version is trusted; then the table is asked again

Action = WatchedWord.Action
_SEPARATOR = object()  # between a phrase's words in the trie: one or more whitespace
_BOUNDARY = re.compile(r"\W")


@dataclass(frozen=True)
class CompiledWords:
    """The whole list, compiled: what ``screen_text`` matches with."""

    version: str
    literal: re.Pattern[str] | None = None
    insensitive: dict[str, frozenset[str]] = field(default_factory=dict)
    sensitive: dict[str, frozenset[str]] = field(default_factory=dict)
    # (action, pattern, prefilter): the pattern can match only if the lower-cased text
    # contains a string of each of the prefilter's sets (None: no prefilter, always run).
    regexes: tuple[tuple[str, re.Pattern[str], tuple[frozenset[str], ...] | None], ...] = ()


_lock = threading.Lock()
_compiled: CompiledWords | None = None


# --- The version ------------------------------------------------------------------------


def database_version() -> str:
    """The list's version as the table says it: any insert, update or delete changes it."""
    seen = WatchedWord.objects.aggregate(count=Count("id"), top=Max("id"), last=Max("updated_at"))
    last = seen["last"].isoformat() if seen["last"] else "-"
    return f"{seen['count']}:{seen['top'] or 0}:{last}"


def current_version() -> str:
    version = cache.get(VERSION_KEY)
    if version is None:
        version = database_version()
        # ``add``: a version written by a change that just committed is never overwritten
        # by this (possibly older) reading.
        cache.add(VERSION_KEY, version, VERSION_TTL)
    return str(version)


def version_bump() -> None:
    """Publish the list's new version now (call after the change committed)."""
    cache.set(VERSION_KEY, database_version(), VERSION_TTL)


def version_bump_on_commit(**kwargs: Any) -> None:
    """Signal receiver for WatchedWord saves and deletes (the admin, the shell, services)."""
    transaction.on_commit(version_bump, robust=True)


# --- Compiling --------------------------------------------------------------------------


def _key(text: str) -> str:
    return " ".join(text.split())


def _trie_pattern(entries: Iterable[list[object]]) -> str:
    root: dict[object, Any] = {}
    for tokens in entries:
        node = root
        for token in tokens:
            node = node.setdefault(token, {})
        node[None] = {}  # an entry ends here

    def emit(node: dict[object, Any]) -> str:
        ends = None in node
        branches = [
            (r"\s+" if token is _SEPARATOR else re.escape(str(token))) + emit(child)
            for token, child in sorted(
                ((t, c) for t, c in node.items() if t is not None),
                key=lambda pair: (pair[0] is _SEPARATOR, str(pair[0])),
            )
        ]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        if ends:
            return f"(?:{body})?"
        return body

    return emit(root)


def _tokens(text: str) -> list[object]:
    tokens: list[object] = []
    for index, part in enumerate(phrase_tokens(text)):
        if index:
            tokens.append(_SEPARATOR)
        tokens.extend(part)
    return tokens


MIN_PREFILTER = 2  # a required string shorter than this filters nothing worth the check
MAX_VARIANTS = 16  # "c[a@]sh pr[i1]ze": spellings of one literal run looked for, at most


def _required(items: Any) -> list[frozenset[str]]:
    """What every match of this parsed sequence contains: each set's strings (lower-cased),
    one of them at least, for every set."""
    required: list[frozenset[str]] = []

    def consider(found: frozenset[str]) -> None:
        if found and min(map(len, found)) >= MIN_PREFILTER:
            required.append(found)

    # The literal text being read, as its variants: "c[a@]sh" is {"cash", "c@sh"}.
    run = {""}
    for op, value in items:
        if op is sre.LITERAL:
            run = {variant + chr(value) for variant in run}
            continue
        few_letters = op is sre.IN and all(kind is sre.LITERAL for kind, _ in value)
        if few_letters and len(run) * len(value) <= MAX_VARIANTS:
            run = {variant + chr(char) for variant in run for _, char in value}
            continue
        consider(frozenset(variant.lower() for variant in run))
        run = {""}
        if op is sre.SUBPATTERN:
            required += _required(value[-1])
        elif op is sre.BRANCH:
            # One of the alternatives matched: its strongest requirement, whichever it is.
            choices = [
                max(_required(b), key=lambda f: min(map(len, f)), default=None) for b in value[1]
            ]
            if all(choices):
                consider(frozenset().union(*choices))  # type: ignore[arg-type]
        elif op in (sre.MAX_REPEAT, sre.MIN_REPEAT) and value[0] >= 1:
            required += _required(value[2])
    consider(frozenset(variant.lower() for variant in run))
    return required


def regex_prefilter(pattern: str) -> tuple[frozenset[str], ...] | None:
    """Literal text every match of ``pattern`` contains, lower-cased: for each set, one of
    its strings. None when there is none to be sure of."""
    try:
        return tuple(_required(sre_parse.parse(pattern))) or None
    except (re.error, RecursionError, OverflowError):
        return None


def _alternation(patterns: list[str], flags: int) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{pattern})" for pattern in patterns), flags)


def compile_words(words: Iterable[WatchedWord], *, version: str) -> CompiledWords:
    """Compile the list (a bad entry that slipped past validation is skipped and logged)."""
    insensitive: dict[str, set[str]] = {}
    sensitive: dict[str, set[str]] = {}
    regexes: dict[tuple[str, bool], list[str]] = {}
    for word in words:
        if word.match == WatchedWord.Match.REGEX:
            try:
                re.compile(f"(?:x)|(?:{word.word})")
            except (re.error, RecursionError, OverflowError):
                logger.error("watched word %s is not a valid regex: skipped", word.pk)
                continue
            regexes.setdefault((word.action, word.case_sensitive), []).append(word.word)
        elif word.word.strip():
            table = sensitive if word.case_sensitive else insensitive
            table.setdefault(_key(word.word), set()).add(word.action)
    literals = {key.lower() for key in insensitive} | {key.lower() for key in sensitive}
    literal = None
    if literals:
        trie = _trie_pattern(_tokens(key) for key in sorted(literals))
        literal = re.compile(rf"(?<!\w)(?=({trie})(?!\w))")
    compiled_regexes: list[tuple[str, re.Pattern[str], tuple[frozenset[str], ...] | None]] = []
    for (action, case_sensitive), patterns in sorted(regexes.items()):
        flags = 0 if case_sensitive else re.IGNORECASE
        filtered = [(pattern, regex_prefilter(pattern)) for pattern in patterns]
        always = [pattern for pattern, prefilter in filtered if prefilter is None]
        if always:
            compiled_regexes.append((action, _alternation(always, flags), None))
        compiled_regexes += [
            (action, re.compile(pattern, flags), prefilter)
            for pattern, prefilter in filtered
            if prefilter is not None
        ]
    return CompiledWords(
        version=version,
        literal=literal,
        insensitive={key.lower(): frozenset(v) for key, v in insensitive.items()},
        sensitive={key: frozenset(v) for key, v in sensitive.items()},
        regexes=tuple(compiled_regexes),
    )


def compiled_words() -> CompiledWords:
    """The compiled list of the current version: compiled again only when the version moved."""
    global _compiled
    version = current_version()
    compiled = _compiled
    if compiled is not None and compiled.version == version:
        return compiled
    with _lock:
        if _compiled is None or _compiled.version != version:
            _compiled = compile_words(WatchedWord.objects.all(), version=version)
        return _compiled


def forget_compiled() -> None:
    """Drop this process's compiled list (tests: a fresh process)."""
    global _compiled
    _compiled = None


# --- Matching ---------------------------------------------------------------------------


def _prefixes(key: str) -> Iterable[str]:
    """The key and each of its leading parts that end at a word boundary."""
    yield key
    for boundary in _BOUNDARY.finditer(key):
        if boundary.start():
            yield key[: boundary.start()]


def _literal_actions(compiled: CompiledWords, text: str) -> set[str]:
    if compiled.literal is None:
        return set()
    lowered = text.lower()
    # Lower-casing a few characters ("İ") changes the length: then the original text's
    # offsets differ, and case-sensitive entries are looked for on their own.
    aligned = len(lowered) == len(text)
    actions: set[str] = set()
    for hit in compiled.literal.finditer(lowered):
        start, end = hit.span(1)
        found = _key(hit.group(1))
        original = _key(text[start:end]) if aligned else ""
        for prefix in _prefixes(found):
            actions |= compiled.insensitive.get(prefix, frozenset())
            if compiled.sensitive and aligned:
                actions |= compiled.sensitive.get(original[: len(prefix)], frozenset())
    if compiled.sensitive and not aligned:
        for key, found_actions in compiled.sensitive.items():
            pattern = r"\s+".join(map(re.escape, key.split()))
            if re.search(rf"(?<!\w){pattern}(?!\w)", text):
                actions |= found_actions
    return actions


def screen_text(text: str) -> set[str]:
    """The actions (``WatchedWord.Action`` values) of every watched word ``text`` contains."""
    return match_actions(compiled_words(), text)


def match_actions(compiled: CompiledWords, text: str) -> set[str]:
    """The actions of every entry of ``compiled`` that ``text`` contains."""
    actions = _literal_actions(compiled, text)
    lowered = text.lower() if compiled.regexes else ""
    for action, pattern, prefilter in compiled.regexes:
        if action in actions:
            continue
        if prefilter is not None and not all(
            any(part in lowered for part in parts) for parts in prefilter
        ):
            continue
        if pattern.search(text):
            actions.add(action)
    return actions


# --- Writes -----------------------------------------------------------------------------


@transaction.atomic
def watched_word_save(
    *,
    word: str,
    action: str,
    match: str = WatchedWord.Match.WORD,
    case_sensitive: bool = False,
    instance: WatchedWord | None = None,
    actor: Any = None,
) -> WatchedWord:
    """Add a watched word (or change ``instance``); refused with a field error when the
    pattern is empty, too long, a bad regex or matches an empty text. Every process sees
    the change at its next post; the audit log records who made it."""
    entry = instance or WatchedWord()
    created = entry.pk is None
    entry.word, entry.action, entry.match = word, action, match
    entry.case_sensitive = case_sensitive
    entry.full_clean()
    entry.save()
    audit_record(
        actor=actor,
        action="watched_word_added" if created else "watched_word_changed",
        target=entry,
        data={"match": entry.match, "action": entry.action},
    )
    return entry


@transaction.atomic
def watched_word_delete(*, watched_word: WatchedWord, actor: Any = None) -> None:
    """Stop watching for a word; every process sees it at its next post."""
    audit_record(
        actor=actor,
        action="watched_word_deleted",
        target=watched_word,
        data={"match": watched_word.match, "action": watched_word.action},
    )
    watched_word.delete()
