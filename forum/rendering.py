"""The one place where a member's post body (Markdown) becomes HTML.

Two layers, on purpose:

1. markdown-it-py parses CommonMark with raw HTML disabled (``<script>`` stays visible
   text), plus tables and ``~~strikethrough~~``. Core rules then make the token stream
   fit a forum post: emoji shortcodes, no remote images, demoted headings, and only
   absolute http/https/mailto links.
2. nh3 cleans the result against an explicit allow-list. It should never have anything
   to remove; it is the safety net if the Markdown layer is ever misconfigured or has a bug.

Decisions:

- **Images** are rendered as a link to the image (its alt text, or the URL, as the link
  text). Loading remote images would let anyone put a tracking pixel in a thread and
  learn who reads it, and when, from where: on a cancer forum, that is health data.
  Inside a link, an image becomes its alt text (links cannot nest).
- **Headings** are shifted down two levels (``#`` is h3, ``####`` and deeper are h6): a
  post must not outrank the page's h1 (the thread title) or h2 sections, and the shift
  keeps the post's own outline.
- **Line breaks**: a single newline is a ``<br>`` (``breaks``). Members write like the
  reference threads, one line per thought, and expect it to stay that way.
- **linkify** is off: it needs linkify-it-py, which is not a dependency. Members link
  with ``<https://…>`` or ``[text](https://…)``; bare URLs stay text.
- **Relative links** (``/threads/1/``, ``//host``, ``#x``) are dropped with the other
  schemes: ``body_html`` is also shown in emails and API clients, where they resolve
  to somewhere else, or nowhere.
- Table alignment is dropped: markdown-it writes it as ``style``, and inline styles are
  neither allow-listed nor allowed by the content security policy.
"""

import html
import re
from collections.abc import Sequence

import nh3
from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore
from markdown_it.token import Token

__all__ = ["render_markdown", "render_plain_text"]

LINK_REL = "nofollow ugc noopener"
URL_SCHEMES = frozenset({"http", "https", "mailto"})

# The shortcodes members reach for most, with GitHub/Slack spellings and common aliases.
EMOJI: dict[str, str] = {
    "smile": "😄",
    "slight_smile": "🙂",
    "slightly_smiling_face": "🙂",
    "smiley": "😃",
    "grin": "😁",
    "laughing": "😆",
    "joy": "😂",
    "sweat_smile": "😅",
    "wink": "😉",
    "blush": "😊",
    "innocent": "😇",
    "heart_eyes": "😍",
    "smiling_face_with_three_hearts": "🥰",
    "kissing_heart": "😘",
    "relieved": "😌",
    "thinking": "🤔",
    "neutral_face": "😐",
    "confused": "😕",
    "worried": "😟",
    "slightly_frowning_face": "🙁",
    "disappointed": "😞",
    "pensive": "😔",
    "cry": "😢",
    "sob": "😭",
    "weary": "😩",
    "tired_face": "😫",
    "scream": "😱",
    "angry": "😠",
    "rage": "😡",
    "sleeping": "😴",
    "hugs": "🤗",
    "hugging_face": "🤗",
    "pray": "🙏",
    "thumbsup": "👍",
    "+1": "👍",
    "thumbsdown": "👎",
    "-1": "👎",
    "clap": "👏",
    "wave": "👋",
    "raised_hands": "🙌",
    "ok_hand": "👌",
    "muscle": "💪",
    "crossed_fingers": "🤞",
    "fingers_crossed": "🤞",
    "heart": "❤️",
    "blue_heart": "💙",
    "green_heart": "💚",
    "yellow_heart": "💛",
    "purple_heart": "💜",
    "sparkling_heart": "💖",
    "two_hearts": "💕",
    "broken_heart": "💔",
    "reminder_ribbon": "🎗️",
    "sunflower": "🌻",
    "rose": "🌹",
    "tulip": "🌷",
    "blossom": "🌼",
    "bouquet": "💐",
    "sunny": "☀️",
    "rainbow": "🌈",
    "star": "⭐",
    "sparkles": "✨",
    "tada": "🎉",
    "coffee": "☕",
    "tea": "🍵",
    "cake": "🎂",
    "hospital": "🏥",
    "pill": "💊",
    "syringe": "💉",
    "white_check_mark": "✅",
}

# Only known names match, so "HER2 2:11" or "10:30:00" are never touched.
_EMOJI_RE = re.compile(
    ":(" + "|".join(re.escape(name) for name in sorted(EMOJI, key=len, reverse=True)) + "):"
)
_SCHEME_RE = re.compile(r"^([a-z][a-z0-9+.-]*):")

ALLOWED_TAGS = frozenset(
    {
        "p", "br", "hr", "strong", "em", "s", "del", "code", "pre", "blockquote",
        "ul", "ol", "li", "a", "h3", "h4", "h5", "h6",
        "table", "thead", "tbody", "tr", "th", "td",
    }
)  # fmt: skip
# nh3 sets rel itself (link_rel) and refuses "rel" in this list.
ALLOWED_ATTRIBUTES = {"a": frozenset({"href", "title"}), "ol": frozenset({"start"})}


class _PostMarkdown(MarkdownIt):
    def validateLink(self, url: str) -> bool:
        """Only absolute http, https and mailto destinations become links.

        ``url`` is already normalised: entities decoded, control characters and spaces
        percent-encoded, so ``java&#09;script:`` or ``JaVaScRiPt:`` cannot slip through.
        Anything else stays visible as the text the member typed.
        """
        match = _SCHEME_RE.match(url.strip().lower())
        return match is not None and match.group(1) in URL_SCHEMES


def _replace_emoji(text: str) -> str:
    return _EMOJI_RE.sub(lambda m: EMOJI[m.group(1)], text)


def _link(href: str, title: str | None, content: Sequence[Token]) -> list[Token]:
    link_open = Token("link_open", "a", 1)
    link_open.attrSet("href", href)
    if title:
        link_open.attrSet("title", title)
    return [link_open, *content, Token("link_close", "a", -1)]


def _rewrite_inline(tokens: Sequence[Token], *, as_text: bool = False) -> list[Token]:
    """Rewrite one inline token stream; ``as_text`` is for the inside of a link."""
    out: list[Token] = []
    in_link = in_autolink = False
    for token in tokens:
        if token.type in ("link_open", "link_close") and as_text:
            continue  # an image's alt text may hold links; links cannot nest
        if token.type == "link_open":
            token.attrSet("rel", LINK_REL)
            # The text of <https://…> is the URL itself: leave it alone.
            in_link, in_autolink = True, token.markup == "autolink"
        elif token.type == "link_close":
            in_link = in_autolink = False
        elif token.type == "image":
            alt = _rewrite_inline(token.children or [], as_text=True)
            if in_link or as_text:
                out.extend(alt)
            else:
                src = str(token.attrGet("src") or "")
                title = token.attrGet("title")
                text = Token("text", "", 0, content=src)
                out.extend(_link(src, str(title) if title else None, alt or [text]))
            continue
        elif token.type == "text" and not in_autolink:
            token.content = _replace_emoji(token.content)
        out.append(token)
    return out


def _post_rules(state: StateCore) -> None:
    for token in state.tokens:
        if token.type in ("heading_open", "heading_close"):
            token.tag = f"h{min(int(token.tag[1]) + 2, 6)}"
        elif token.type == "inline" and token.children:
            token.children = _rewrite_inline(token.children)


# Built once: rendering runs on every post write. "typographer" stays off so members'
# quotes and dashes are kept as typed.
_md = _PostMarkdown("commonmark", {"html": False, "breaks": True, "typographer": False}).enable(
    ["table", "strikethrough"]
)
# Before text_join, so an escaped colon (\:smile:) keeps a shortcode literal.
_md.core.ruler.before("text_join", "haven_post", _post_rules)

_cleaner = nh3.Cleaner(
    tags=ALLOWED_TAGS,
    attributes=ALLOWED_ATTRIBUTES,
    link_rel=LINK_REL,
    url_schemes=URL_SCHEMES,
    url_relative="deny",
    strip_comments=True,
)
_text_cleaner = nh3.Cleaner(tags=set())
_BLOCK_END_RE = re.compile(r"(</(?:p|h[3-6]|blockquote|pre|ul|ol|table)>)\n")
_BLANK_LINES_RE = re.compile(r"\n{3,}")


def render_markdown(body: str) -> str:
    """Render a post body (Markdown) to sanitised HTML, safe to store as ``body_html``."""
    return _cleaner.clean(_md.render(body))


def render_plain_text(body: str) -> str:
    """The words of a post body without markup, for emails and search snippets.

    Blocks (paragraphs, lists, quotes…) are separated by a blank line; link targets
    are not included, only their text. The result is plain text, not HTML: escape it
    before putting it in a page (Django templates do).
    """
    spaced = _BLOCK_END_RE.sub(r"\1\n\n", render_markdown(body))
    text = html.unescape(_text_cleaner.clean(spaced))
    return _BLANK_LINES_RE.sub("\n\n", text).strip()
