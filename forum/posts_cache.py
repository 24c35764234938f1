"""The posts page cache: a thread's pages as the public sees them, exact by construction.

A page is stored (``core.pagecache``) under its thread and its URL (the cursor, the page
size and, for the API, the host its links name) with the thread's ``version`` stamped in the
value. Every request reads the thread's version anyway, in the one query that also checks
the thread is visible (``forum.selectors.posts_page_state``): a cached page is served only
when its stamp is the thread's version now. A write moves the version on in its own
transaction, so every page stored before it is a miss from its commit on; the timeout only
bounds memory. A page built while a write commits is stamped with the version read before
it was built, so it is never newer-labelled than its content.

Only the public's page is stored. A signed-in viewer is served the same page with what
differs for her overlaid (``overlay``): her likes among its posts and her mutes among its
authors (read in that same query), and the signposting of her own posts. A viewer whose
page holds other posts (a moderator, the author of a held post in the thread, anyone
reading a thread that is not visible) is served uncached.

The value keeps, beside the body, what the overlay needs and clients never see: each row's
post id, author id, whether the author wrote as a member (only members are muted) and the
post's ``support_kind``.
"""

import binascii
import functools
import hashlib
import json
import re
from base64 import b64decode, b64encode
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import parse_qs, urlencode

from django.apps import apps
from django.conf import settings
from django.contrib.messages.storage.cookie import CookieStorage
from django.contrib.staticfiles.storage import staticfiles_storage
from django.http import HttpRequest
from django.utils.dateparse import parse_datetime
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer

from accounts.identity import published_author_of_values
from accounts.roles import Role
from core import pagecache
from core.api.pagination import PostCursorPagination, canonical_number
from core.api.responses import splice
from core.api.throttling import READ_NOTHING
from forum import policy
from forum.models import Post, Thread
from forum.selectors import PostsPageState, posts_page_state, public_thread_head

_DATETIME = serializers.DateTimeField()


def enabled() -> bool:
    """``HAVEN_PAGE_CACHE = False`` serves every page uncached (tests compare the two)."""
    return bool(settings.HAVEN_PAGE_CACHE)


class RowMeta(NamedTuple):
    """What the overlay needs of a cached row."""

    post_id: int
    author_id: int | None
    member: bool
    support_kind: str


@dataclass(frozen=True)
class CachedPage:
    stamp: str
    body: bytes
    rows: list[RowMeta]

    def encode(self) -> bytes:
        head = json.dumps([self.stamp, len(self.body)]).encode()
        return b"%s\n%s%s" % (head, self.body, json.dumps(self.rows).encode())

    @classmethod
    def decode(cls, value: bytes | None) -> "CachedPage | None":
        if value is None:
            return None
        try:
            head, rest = value.split(b"\n", 1)
            stamp, length = json.loads(head)
            rows = [RowMeta(*row) for row in json.loads(rest[length:])]
        except (ValueError, TypeError):
            return None  # not a page of this format: a miss
        return cls(stamp=str(stamp), body=rest[:length], rows=rows)


@dataclass(frozen=True)
class Lookup:
    """A cached page (if any) and the thread's state now, for one request."""

    key: str
    cached: CachedPage | None
    state: PostsPageState | None

    @property
    def public(self) -> bool:
        """Whether the viewer's page is the public's: the cached one, or one to store."""
        return self.state is not None and self.state.public

    @property
    def hit(self) -> CachedPage | None:
        """The cached page if it is the public's page now (stamped with the version now)."""
        if self.state is None or not self.state.public or self.cached is None:
            return None
        return self.cached if self.cached.stamp == str(self.state.version) else None

    def store(self, body: bytes, rows: list[RowMeta]) -> None:
        if self.state is not None:
            page = CachedPage(stamp=str(self.state.version), body=body, rows=rows)
            pagecache.set(self.key, page.encode(), settings.HAVEN_PAGE_CACHE_SECONDS)


def _digest(text: str) -> str:
    return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()


# Modules outside ``forum`` whose code shapes the pages (names, links, headers, layout).
_STAMPED_MODULES = (
    "accounts/identity.py",
    "core/pages.py",
    "core/api/pagination.py",
    "core/api/responses.py",
)


def stamp_sources() -> list[Path]:
    """Every file the stamp digests: ``forum``'s modules, the modules above, and every
    project app's templates (``thread.html`` includes moderation's and accounts' too) and
    template tags."""
    root = Path(settings.BASE_DIR).resolve()
    forum = Path(__file__).resolve().parent
    sources = {*forum.glob("*.py"), *(root / name for name in _STAMPED_MODULES)}
    for app in apps.get_app_configs():
        path = Path(app.path).resolve()
        if path.parent == root:  # the project's apps, not Django's or allauth's
            sources.update(p for p in path.glob("templates/**/*") if p.is_file())
            sources.update(path.glob("templatetags/*.py"))
    return sorted(sources)


def _read(path: Path) -> bytes:
    return path.read_bytes()


def static_manifest() -> bytes | None:
    """The static files' manifest (``ManifestStaticFilesStorage``, production): cached pages
    name hashed stylesheets, so a new build of them is a new stamp. None without one."""
    read_manifest = getattr(staticfiles_storage, "read_manifest", None)
    if read_manifest is None:
        return None
    manifest = read_manifest()
    return None if manifest is None else str(manifest).encode()


@functools.cache
def code_stamp() -> str:
    """A digest of the code, templates and static manifest that render the pages (and the
    thread lists, ``forum.thread_lists``): a release that changes how a page looks reads
    none of the pages the release before it stored."""
    root = Path(settings.BASE_DIR).resolve()
    digest = hashlib.sha1(usedforsecurity=False)
    for source in stamp_sources():
        digest.update(str(source.relative_to(root)).encode() + b"\0")
        digest.update(_read(source))
        digest.update(b"\0")
    digest.update(static_manifest() or b"")
    return digest.hexdigest()[:12]


class PageQuery(NamedTuple):
    """A posts page's query, normalised: what the page shows depends on nothing else."""

    offset: int
    reverse: bool
    position: str | None
    page_size: str | None  # as given (its links repeat it), only ever the size used


def _cursor(raw: str) -> tuple[int, bool, str | None] | None:
    """The cursor ``raw`` decoded, if ``raw`` is exactly how DRF encodes it (its position a
    ``created_at`` as DRF writes one): else None."""
    if not raw:
        return None
    try:
        tokens = parse_qs(b64decode(raw.encode("ascii"), validate=True).decode("ascii"))
    except (ValueError, UnicodeError, binascii.Error):
        return None
    if any(len(values) != 1 for values in tokens.values()) or not set(tokens) <= {"o", "r", "p"}:
        return None
    offset, reverse, position = tokens.get("o", ["0"])[0], tokens.get("r", ["0"])[0], None
    if "p" in tokens:
        when = parse_datetime(tokens["p"][0])
        position = None if when is None else str(when)
        if position != tokens["p"][0]:
            return None
    if not (offset.isascii() and offset.isdigit()) or reverse not in ("0", "1"):
        return None
    cursor = (min(int(offset), PostCursorPagination.offset_cutoff), reverse == "1", position)
    canonical: dict[str, str] = {}
    if cursor[0]:
        canonical["o"] = str(cursor[0])
    if cursor[1]:
        canonical["r"] = "1"
    if position is not None:
        canonical["p"] = position
    encoded = b64encode(urlencode(canonical).encode("ascii")).decode("ascii")
    return cursor if encoded == raw else None


def page_query(request: HttpRequest) -> PageQuery | None:
    """The request's posts page query if a page of it may be cached: no parameter but
    ``cursor`` and ``page_size``, each once, each spelled as the pagination spells it (a
    cursor as DRF encodes it, a page size as the number it uses). Any other query (a
    parameter the page ignores, ``page_size=01``, a size over the maximum, a cursor
    re-encoded by hand) is answered uncached: it would only fill the cache with one-off
    copies of pages (its links repeat what it was given)."""
    params = request.GET
    if not {"cursor", "page_size"}.issuperset(params) or any(
        len(params.getlist(name)) != 1 for name in params
    ):
        return None
    cursor: tuple[int, bool, str | None] | None = (0, False, None)
    if "cursor" in params:
        cursor = _cursor(params["cursor"])
    size = params.get("page_size")
    if cursor is None or (
        size is not None
        and canonical_number(size, at_most=PostCursorPagination.max_page_size) is None
    ):
        return None
    return PageQuery(*cursor, page_size=size)


def api_key(request: HttpRequest, thread_id: int, query: PageQuery) -> str:
    """The API page's key: its absolute URL's host and path, which its ``next``/``previous``
    links repeat, and its normalised query."""
    where = request.build_absolute_uri(request.path)
    return f"posts:api:{thread_id}:{code_stamp()}:{_digest(repr((where, tuple(query))))}"


def html_key(request: HttpRequest, thread_id: int, query: PageQuery) -> str:
    """The thread page's key: its normalised query (its links are relative)."""
    return f"posts:html:{thread_id}:{code_stamp()}:{_digest(repr(tuple(query)))}"


def request_key(request: HttpRequest, thread_id: int) -> str | None:
    """The API page's key for this request, or None if its query may not be cached."""
    query = page_query(request)
    return None if query is None else api_key(request, thread_id, query)


def lookup(
    request: HttpRequest, *, thread_id: int, viewer: Any, stored: object = READ_NOTHING
) -> Lookup:
    """The cached API page of this request's URL, and the thread's state for ``viewer`` with
    her bits for that page's posts (one Redis read, one query). A query that may not be
    cached (``page_query``) is no public page: nothing read, nothing stored. ``stored``: the
    value under ``request_key`` if the caller read it already (with its throttle's count)."""
    key = request_key(request, thread_id)
    if key is None:
        return Lookup(key="", cached=None, state=None)
    raw = pagecache.get(key) if stored is READ_NOTHING else stored
    cached = CachedPage.decode(raw if isinstance(raw, bytes) else None)
    rows = cached.rows if cached is not None else []
    state = posts_page_state(
        thread_id=thread_id,
        viewer=viewer,
        post_ids=[row.post_id for row in rows],
        author_ids={row.author_id for row in rows if row.member and row.author_id is not None},
    )
    return Lookup(key=key, cached=cached, state=state)


def _when(value: Any) -> str | None:
    return None if value is None else _DATETIME.to_representation(value)


def post_row(values: Mapping[str, Any]) -> dict[str, Any]:
    """A post of ``selectors.post_page_rows`` as the public sees it: exactly what
    ``forum.apis.PostOutputSerializer`` gives the public for the same post."""
    kind = values["kind"]
    return {
        "id": values["id"],
        "thread": values["thread_id"],
        "author": None if kind == Post.Kind.SYSTEM else published_author_of_values(values),
        "kind": kind,
        "body": values["body"],
        "body_html": values["body_html"],
        "like_count": values["like_count"],
        "liked_by_me": False,
        "created_at": _when(values["created_at"]),
        "edited_at": _when(values["edited_at"]),
        "status": values["status"],
        "sensitive": values["sensitive"],
        "muted": False,
        "support": None,
    }


def row_meta(values: Mapping[str, Any]) -> RowMeta:
    return RowMeta(
        post_id=values["id"],
        author_id=values["author_id"],
        member=values["author_role"] == Role.MEMBER,
        support_kind=values["support_kind"],
    )


def overlay(
    data: dict[str, Any],
    rows: list[RowMeta],
    *,
    viewer: Any,
    liked: Collection[int],
    muted: Collection[int],
) -> dict[str, Any]:
    """The public's page ``data`` as ``viewer`` sees it: her likes (``liked`` post ids), her
    mutes (``muted`` author ids, members only) and her own posts' signposting."""
    if viewer is None or not viewer.is_authenticated:
        return data
    rendered: dict[str, str | None] = {}
    for result, row in zip(data["results"], rows, strict=True):
        result["liked_by_me"] = row.post_id in liked
        result["muted"] = row.member and row.author_id in muted
        html = policy.support_for(row, viewer, rendered)
        result["support"] = None if html is None else {"kind": row.support_kind, "html": html}
    return data


# A row's per-viewer fields as the public's page renders them (compact JSON), in row order.
# Nothing a member writes can match: inside a JSON string every ``"`` is escaped.
_VIEWER_FIELDS = re.compile(rb'"(liked_by_me|muted)":false|"(support)":null')
_FIELD_ORDER = ("liked_by_me", "muted", "support")
_LITERALS: dict[bool | None, bytes] = {True: b"true", False: b"false", None: b"null"}
_PUBLIC = (False, False, None)  # what the public's page shows in them


def overlay_body(
    body: bytes,
    rows: list[RowMeta],
    *,
    viewer: Any,
    liked: Collection[int],
    muted: Collection[int],
) -> bytes | None:
    """``overlay`` on the public's page as rendered (compact JSON, as stored): the bytes the
    overlaid page renders to, spliced in place without parsing the page. A page where the
    viewer has nothing of her own is the public's bytes as they are. None if the body does
    not hold each row's three per-viewer fields in order (the caller overlays the parsed
    page instead)."""
    renderer = JSONRenderer()
    rendered: dict[str, str | None] = {}
    changed: dict[int, bytes] = {}  # the n-th per-viewer field's new bytes, where not the public's
    for n, row in enumerate(rows):
        html = policy.support_for(row, viewer, rendered)
        values: tuple[Any, ...] = (
            row.post_id in liked,
            row.member and row.author_id in muted,
            None if html is None else {"kind": row.support_kind, "html": html},
        )
        for i, (name, value) in enumerate(zip(_FIELD_ORDER, values, strict=True)):
            if value is not _PUBLIC[i]:
                encoded = renderer.render(value) if isinstance(value, dict) else _LITERALS[value]
                changed[n * len(_FIELD_ORDER) + i] = b'"%s":%s' % (name.encode(), encoded)
    if not changed:
        return body
    found = list(_VIEWER_FIELDS.finditer(body))
    if len(found) != len(_FIELD_ORDER) * len(rows):
        return None
    for n, match in enumerate(found):
        if (match[1] or match[2]).decode() != _FIELD_ORDER[n % len(_FIELD_ORDER)]:
            return None
    places = sorted(changed)
    return splice(body, [found[n] for n in places], [changed[n] for n in places])


# --- The HTML thread page --------------------------------------------------------------------


def anonymous_page_request(request: HttpRequest) -> bool:
    """A GET of a page by someone with no session at all, so no messages to show either: the
    page is the public's, whole."""
    return (
        request.method == "GET"
        and settings.SESSION_COOKIE_NAME not in request.COOKIES
        and CookieStorage.cookie_name not in request.COOKIES  # messages waiting to be shown
        and enabled()
        and page_query(request) is not None
    )


def html_stamp(head: Mapping[str, Any]) -> str:
    """What the public's thread page shows beyond its posts (all on the thread's version)
    but its category's name and its opener's live name (``selectors.public_thread_head``)."""
    author = published_author_of_values(head)["display_name"]
    return json.dumps([head["version"], head["category_slug"], head["category_name"], author])


@dataclass(frozen=True)
class PageLookup:
    """The public's cached thread page (if any) and what it must show now."""

    key: str
    cached: CachedPage | None
    head: dict[str, Any] | None

    @property
    def public(self) -> bool:
        return self.head is not None and self.head["visibility"] == Thread.Visibility.VISIBLE

    @property
    def hit(self) -> CachedPage | None:
        if not self.public or self.cached is None or self.head is None:
            return None
        return self.cached if self.cached.stamp == html_stamp(self.head) else None

    def store(self, body: bytes) -> None:
        if self.public and self.head is not None:
            page = CachedPage(stamp=html_stamp(self.head), body=body, rows=[])
            pagecache.set(self.key, page.encode(), settings.HAVEN_PAGE_CACHE_SECONDS)


def lookup_page(request: HttpRequest, *, thread_id: int) -> PageLookup:
    """The public's cached thread page for this request's URL and what the page shows now
    beyond its posts (one Redis read, one query); nothing for a query that may not be
    cached (``page_query``)."""
    query = page_query(request)
    if query is None:
        return PageLookup(key="", cached=None, head=None)
    key = html_key(request, thread_id, query)
    cached = CachedPage.decode(pagecache.get(key))
    return PageLookup(key=key, cached=cached, head=public_thread_head(thread_id=thread_id))
