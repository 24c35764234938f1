"""Policies the forum takes from the apps above it, registered at start-up.

The forum writes posts; moderation decides what a post's text means for it (held, urgent,
behind a warning, refused) and what signposting its author sees. Moderation registers
its functions here from ``AppConfig.ready``; the forum never imports moderation.
"""

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from accounts.models import User
    from forum.models import Post


@dataclass(frozen=True)
class Screening:
    """What screening a text decided. ``reasons`` name why (e.g. "watched_word", "new_member").

    A screen refuses a text by raising (``core.errors.ApplicationError`` or a
    ``ValidationError``), before anything is written.
    """

    hold: bool = False
    flag: bool = False
    safeguarding: bool = False
    sensitive: bool = False
    reasons: tuple[str, ...] = field(default=())

    def __or__(self, other: "Screening") -> "Screening":
        return Screening(
            hold=self.hold or other.hold,
            flag=self.flag or other.flag,
            safeguarding=self.safeguarding or other.safeguarding,
            sensitive=self.sensitive or other.sensitive,
            reasons=tuple(dict.fromkeys(self.reasons + other.reasons)),
        )

    @property
    def needs_review(self) -> bool:
        return self.hold or self.flag or self.safeguarding


Screen = Callable[["User", str], Screening]
Raised = Callable[["Post", Screening], None]
SupportRenderer = Callable[[str], str]

_screens: list[Screen] = []
_raised: list[Raised] = []
_support: dict[str, SupportRenderer] = {}


def register_screen(screen: Screen) -> None:
    """``screen(author, text)`` is asked about every new post's text (titles included)."""
    if screen not in _screens:
        _screens.append(screen)


def register_raised(hook: Raised) -> None:
    """``hook(post, screening)`` runs in the post's transaction when screening needs review."""
    if hook not in _raised:
        _raised.append(hook)


def register_support(kind: str, render: SupportRenderer) -> None:
    """``render(kind)`` gives the HTML of the signposting a post's author sees (``crisis``)."""
    _support[kind] = render


@contextmanager
def registered(
    *,
    screens: tuple[Screen, ...] = (),
    raised_hooks: tuple[Raised, ...] = (),
    support: Mapping[str, SupportRenderer] | None = None,
) -> Iterator[None]:
    """Register hooks for the length of a ``with`` block, then put everything back (tests)."""
    saved = (list(_screens), list(_raised), dict(_support))
    for check in screens:
        register_screen(check)
    for hook in raised_hooks:
        register_raised(hook)
    for kind, render in (support or {}).items():
        register_support(kind, render)
    try:
        yield
    finally:
        _screens[:], _raised[:] = saved[0], saved[1]
        _support.clear()
        _support.update(saved[2])


def screen(author: "User", text: str) -> Screening:
    result = Screening()
    for check in _screens:
        result |= check(author, text)
    return result


def raised(post: "Post", screening: Screening) -> None:
    for hook in _raised:
        hook(post, screening)


def support_html(kind: str) -> str | None:
    render = _support.get(kind)
    return render(kind) if render is not None else None


class Supported(Protocol):
    """What the signposting of a post depends on: a ``Post``, or a cached page's row."""

    @property
    def support_kind(self) -> str: ...

    @property
    def author_id(self) -> int | None: ...


def support_for(post: Supported, viewer: Any, rendered: dict[str, str | None]) -> str | None:
    """The signposting HTML ``post`` shows ``viewer``: its author's only, nobody else's.

    ``rendered`` keeps each kind rendered once per response, however many posts carry it.
    """
    if not post.support_kind or viewer is None or not viewer.is_authenticated:
        return None  # the public: even an erased author's post (no author id, as it has none)
    if post.author_id != viewer.pk:
        return None
    if post.support_kind not in rendered:
        rendered[post.support_kind] = support_html(post.support_kind)
    return rendered[post.support_kind]
