"""The thread lists (``GET /api/v1/threads/`` and a category's page), cached exactly.

A page of a list is first read narrowly: the count it shows and, for its rows in order,
``(id, version, following)`` (``page_keys``; one index-ordered query, no joins). The count
of every visible thread, or of one category's, is the categories' kept count
(``known_count``: one tiny query, never a ``COUNT`` of ~100 k rows); a list narrowed by
another filter is counted. The rendered body is cached under the code that renders it
(``posts_cache.code_stamp``), the endpoint and its whole query (the API's links repeat it)
(``page_key``), stamped with what it shows: the count and the rows' ids and versions
(``stamped``). Any change to a thread shown moves its version
(``forum.services.thread_changed``); any change of which threads are on the page, or of their
order, changes the ids; a thread added or gone elsewhere changes the count. So a body is
served only when its stamp is the page's now (``cached_body``), never stale; a write makes
the stored body a miss until the page is rendered again. As the key names the query alone,
it is known before the database is read: the API reads the body in the throttle's round trip
to Redis (``forum.apis.threads``). A hit costs the narrow query (with the count); a miss one
query more, for the page's full rows.

Bodies are viewer-neutral: ``following`` (the one per-viewer field of a row) is stored
false and laid over the body for a signed-in viewer from the narrow query, which carries it.
"""

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from django.db.models import QuerySet

from core import pagecache
from core.api.responses import splice
from forum import selectors
from forum.models import Thread
from forum.posts_cache import CachedPage, code_stamp
from forum.selectors import KeyRow


def page_keys(threads: QuerySet[Thread]) -> QuerySet[Any]:
    """``threads`` (``selectors.thread_list``, filtered) as the narrow rows that name a page:
    ``(id, version, following)`` in the list's order, for the paginator to slice."""
    return threads.values_list("pk", "version", "following")  # type: ignore[misc]


# The list's filters that narrow it below a category (``forum.filters.ThreadFilter``), and
# the values of theirs that narrow nothing.
_NARROWING = ("status", "unanswered", "author", "q")
_NARROWING_NOTHING = {"unanswered": "false"}


def known_count(params: Mapping[str, str]) -> int | None:
    """The list's count from the categories' kept counts (``selectors.visible_thread_count``,
    one small statement) when ``params`` (a query ``ThreadFilter`` has already validated)
    ask for every visible thread or one category's; None when another filter narrows the
    list or the counts are not kept (then it is counted)."""
    if any(params.get(name) not in (None, "", _NARROWING_NOTHING.get(name)) for name in _NARROWING):
        return None
    return selectors.visible_thread_count(category_slug=params.get("category") or None)


def page_key(endpoint: str, query: object) -> str:
    """The cache key of a page's body: the endpoint and its query, nothing per viewer."""
    # The code stamp: bodies rendered by the code before a deploy (its serializers, templates,
    # pagination, static manifest) are never served by the code after it.
    return pagecache.key_of("thread-list", code_stamp(), endpoint, query)


def _stamp(count: int, keys: Sequence[KeyRow]) -> str:
    """What a page's body shows: the list's count and its rows' ids and versions."""
    return json.dumps([count, [(pk, version) for pk, version, _following in keys]])


def stamped(body: bytes, count: int, keys: Sequence[KeyRow]) -> bytes:
    """``body``, the page of ``count`` threads whose rows ``keys`` name, as it is stored."""
    return CachedPage(stamp=_stamp(count, keys), body=body, rows=[]).encode()


def cached_body(stored: bytes | None, count: int, keys: Sequence[KeyRow]) -> bytes | None:
    """The body ``stored`` (a value of ``stamped``) if it is this very page (the same count,
    the same rows at the same versions); None for anything else: a miss."""
    cached = CachedPage.decode(stored)
    return None if cached is None or cached.stamp != _stamp(count, keys) else cached.body


def page_rows(keys: Sequence[KeyRow]) -> tuple[list[Thread], bool]:
    """The page's threads in full, in the page's order, and whether they are exactly the
    rows ``keys`` named (a thread written or hidden in between: render it, store nothing)."""
    ids = [pk for pk, _version, _following in keys]
    found = {thread.pk: thread for thread in selectors.thread_list(viewer=None).filter(pk__in=ids)}
    rows = [found[pk] for pk in ids if pk in found]
    exact = len(rows) == len(keys) and all(
        thread.version == version for thread, (_pk, version, _f) in zip(rows, keys, strict=True)
    )
    return rows, exact


def followed(keys: Sequence[KeyRow]) -> set[int]:
    """The page's threads the viewer follows (none for the public)."""
    return {pk for pk, _version, following in keys if following}


# A row's ``following`` as the viewer-neutral body renders it (compact or indented JSON).
# Nothing a member writes can match: inside a JSON string every ``"`` is escaped.
_FOLLOWING = re.compile(rb'"following":( ?)false')


def with_following_body(body: bytes, keys: Sequence[KeyRow]) -> bytes | None:
    """``with_following`` on the rendered body of exactly the page ``keys`` name: its rows'
    ``following`` spliced in place, without parsing the body. None if the body does not
    hold one per row (the caller lays it over the parsed page instead)."""
    found = list(_FOLLOWING.finditer(body))
    if len(found) != len(keys):
        return None
    values = [
        b'"following":%s%s' % (match[1], b"true" if following else b"false")
        for match, (_pk, _version, following) in zip(found, keys, strict=True)
    ]
    return splice(body, found, values)


def with_following(data: dict[str, Any], keys: Sequence[KeyRow]) -> dict[str, Any]:
    """A page's viewer-neutral data with the viewer's ``following`` laid over its rows."""
    follows = followed(keys)
    for row in data["results"]:
        row["following"] = row["id"] in follows
    return data
