"""Full-text search over threads: PostgreSQL's tsvector (title weight A, posts weight B).

Matching uses that vector; ordering uses the title's own small vector (``title_vector``, a
column PostgreSQL generates from the title, migration 0014), so no match's large vector is
ranked: titles first, then posts, each newest activity first (``threads_matching``).

The vector is stored on the thread: a new post's text is appended by its fan-out job
(``forum.fanout``), in the transaction that marks the post fanned out; the services rebuild
it when a post is edited, deleted or moderated. A rebuild reads the posts already fanned
out only, so a post is counted once whichever of the two comes first. SQLite (the zero
set-up demo) has no full-text search; there, searching falls back to ``icontains``.
"""

import logging
from collections.abc import Sequence
from datetime import timedelta
from functools import reduce
from operator import or_
from typing import Any, cast

from django.conf import settings
from django.contrib.postgres.search import (
    SearchQuery,
    SearchRank,
    SearchVector,
    SearchVectorField,
)
from django.db import DataError, OperationalError, connection, connections, transaction
from django.db.models import (
    BooleanField,
    DateTimeField,
    Exists,
    Expression,
    ExpressionWrapper,
    F,
    Func,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    TextField,
    Value,
)
from django.db.models.functions import Coalesce, Left
from django.db.models.query import ValuesIterable, ValuesListIterable

from core import pagecache
from forum.models import Post, Thread

CONFIG = "english"


# PostgreSQL refuses a tsvector over 1 MB: index the start of each post and of each thread,
# and never let indexing fail a reply.
POST_INDEX_CHARS = 4_000
THREAD_INDEX_CHARS = 200_000
# Rows of the search change log a search reads before it folds the log itself
# (``search_generation``; a periodic job folds it first: ``search_changes_fold``).
_COMPACT_AFTER = 500

logger = logging.getLogger(__name__)


def _full_text() -> bool:
    return connection.vendor == "postgresql"


def _update_vector(thread_id: int, vector: Any) -> None:
    try:
        with transaction.atomic():
            Thread.objects.filter(pk=thread_id).update(search_vector=vector)
    except (DataError, OperationalError):  # e.g. "string is too long for tsvector"
        logger.warning("thread %s: search index full, not updated", thread_id, exc_info=True)


def _posts_text() -> Subquery:
    from django.contrib.postgres.aggregates import StringAgg

    bodies = (
        Post.objects.filter(
            thread=OuterRef("pk"), status=Post.Status.VISIBLE, fanned_out_at__isnull=False
        )
        .order_by()
        .values("thread")
        .annotate(text=StringAgg("body", delimiter="\n"))
        .values("text")
    )
    return Subquery(bodies)


def thread_reindex(*, thread_id: int) -> None:
    """Rebuild a thread's vector from its title and visible posts (those fanned out: the
    others' text comes with their fan-out job)."""
    if not _full_text():
        return
    text = Left(Coalesce(_posts_text(), Value(""), output_field=TextField()), THREAD_INDEX_CHARS)
    _update_vector(
        thread_id,
        SearchVector("title", weight="A", config=CONFIG)
        + SearchVector(text, weight="B", config=CONFIG),
    )


def thread_index_append(*, thread_id: int, body: str) -> None:
    """Add one new post to the vector without reading the thread's other posts."""
    if not _full_text():
        return
    appended = Func(
        Coalesce(F("search_vector"), SearchVector(Value(""), config=CONFIG)),
        SearchVector(Value(body[:POST_INDEX_CHARS]), weight="B", config=CONFIG),
        arg_joiner=" || ",
        template="(%(expressions)s)",
        output_field=SearchVectorField(),
    )
    _update_vector(thread_id, appended)


class _TitleMatches(Expression):
    """Whether the thread's ``title_vector`` (migration 0014: a column PostgreSQL generates
    from the title; not a model field, as only PostgreSQL has it) matches ``query``."""

    output_field = BooleanField()

    def __init__(self, query: SearchQuery) -> None:
        super().__init__()
        self.query = query

    def get_source_expressions(self) -> list[Any]:
        return [self.query]

    def set_source_expressions(self, exprs: Sequence[Any]) -> None:
        (self.query,) = exprs

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, tuple[Any, ...]]:
        alias = compiler.quote_name_unless_alias(compiler.query.get_initial_alias())
        sql, params = compiler.compile(self.query)
        return f"({alias}.title_vector @@ {sql})", tuple(params)


_ORDERING = ("search_group", "search_activity", "search_id")
_ORDER = ("search_group", "-search_activity", "-search_id")


# A group of at most this many matches is read through its GIN index and sorted; a larger
# one in the activity index's order, filtered (a group this dense fills a page within a few
# thousand rows). Reading a sparse group in index order would read every thread (a word in a
# few titles and no posts: ~0.8 s at 100 k threads, to find that the posts hold none).
BITMAP_MAX = 2_000


def _ordering(group: int, *, matches: int) -> dict[str, Any]:
    """The columns a search page is ordered by: its group (0: the title matches; 1: the posts
    only), then newest activity, then the highest id. For a group of few ``matches``, the
    activity is written as an expression no index holds, so PostgreSQL reads the group
    through its GIN index and sorts it (``BITMAP_MAX``)."""
    activity: Any = F("last_activity_at")
    if matches <= BITMAP_MAX:
        activity = ExpressionWrapper(
            F("last_activity_at") + Value(timedelta(0)), output_field=DateTimeField()
        )
    return {"search_group": Value(group), "search_activity": activity, "search_id": F("id")}


class _Unordered(ValuesListIterable):
    """``values_list()`` rows without the ordering columns (``_ordering``), as asked."""

    def __iter__(self) -> Any:
        width = len(self.queryset._fields or ()) or None  # type: ignore[attr-defined]
        for row in super().__iter__():
            yield row[:width] if width else row


class _UnorderedDicts(ValuesIterable):
    """``values()`` rows without the ordering columns (``_ordering``), as asked."""

    def __iter__(self) -> Any:
        for row in super().__iter__():
            yield {name: value for name, value in row.items() if name not in _ORDERING}


class SearchResults(QuerySet[Thread]):
    """Threads matching a search, in ``threads_matching``'s order, served by indexes.

    Sliced (a page), it is two queries joined by ``UNION ALL``, each in index order and
    limited to the slice's end, so PostgreSQL reads a page's worth of each, never every
    match: the threads whose title matches, then those matching in their posts only. The
    outer query orders the union (by group, activity, id: it sorts at most twice the page's
    end). Read one way only: ``reverse()`` and ``last()`` raise ``TypeError``.
    Counted, it counts the matches through the GIN index (``count``).
    """

    _search: SearchQuery | None = None
    _counted: tuple[int, int] | None = None  # this queryset's matches and title matches

    def _clone(self) -> "SearchResults":
        clone = cast(SearchResults, super()._clone())  # type: ignore[misc]
        clone._search = self._search
        return clone

    @property
    def ordered(self) -> bool:
        return True

    def _plain(self) -> QuerySet[Thread]:
        plain = self._chain()  # type: ignore[attr-defined]
        plain.__class__ = QuerySet
        return cast(QuerySet[Thread], plain)

    def __getitem__(self, k: Any) -> Any:
        if self._search is None or self._result_cache is not None:
            return super().__getitem__(k)
        if isinstance(k, int) and k >= 0:
            rows = list(self[k : k + 1])
            if not rows:
                raise IndexError(k)
            return rows[0]
        if not isinstance(k, slice):
            return super().__getitem__(k)
        if k.step is not None:
            raise TypeError("Search results are read in page order only: no step.")
        start, stop = k.start or 0, k.stop
        plain, query = self._plain(), self._search
        if plain.query.is_empty() or (stop is not None and stop <= start):
            return plain.none()  # no union to order (Django's union drops empty parts)
        in_title = _checked_first(plain.filter(_TitleMatches(query)))
        in_posts = _checked_first(plain.filter(~Q(_TitleMatches(query))))
        # Each group tagged and its sort key selected (whatever values() selects), so the
        # outer query can order the union: a UNION ALL has no order of its own. It sorts at
        # most twice the page's end. Each group is read the way its size calls for
        # (``_ordering``), from the counts ``count`` made (no query more); a page within one
        # group reads that group alone.
        matches, titles = self._counts()
        in_title = in_title.annotate(**_ordering(0, matches=titles)).order_by(*_ORDER)
        in_posts = in_posts.annotate(**_ordering(1, matches=matches - titles)).order_by(*_ORDER)
        if stop is not None and stop <= titles:  # a page of title matches only
            page = in_title[start:stop]
        elif start >= titles:  # a page of posts-only matches only
            page = in_posts[start - titles : None if stop is None else stop - titles]
        else:
            if stop is not None:
                in_title, in_posts = in_title[:stop], in_posts[:stop]
            page = in_title.union(in_posts, all=True).order_by(*_ORDER)[start:stop]
        if issubclass(page._iterable_class, ValuesListIterable):
            page._iterable_class = _Unordered
        elif issubclass(page._iterable_class, ValuesIterable):
            page._iterable_class = _UnorderedDicts
        return page

    def reverse(self) -> Any:
        """Refused: the pages are read from indexes in one direction only (so ``last()``,
        which reverses, is refused too)."""
        raise TypeError("Search results cannot be reversed (nor last() taken): read a page.")

    def _fetch_all(self) -> None:
        # Read whole (iterated, not sliced): in the same order as its pages.
        if self._search is not None and self._result_cache is None:
            self._result_cache = list(self[:])
        super()._fetch_all()

    def count(self) -> int:
        """The exact number of matches (``_counts``)."""
        if self._search is None or self._result_cache is not None:
            return super().count()
        return self._counts()[0]

    def _counts(self) -> tuple[int, int]:
        """The exact number of matches and of those matching in their title: from the cache
        when these very counts (their SQL) were made at the current search generation
        (``search_generation``), else counted through the GIN index and stored. Kept on this
        queryset, so the page read after its count (a paginator's) asks nothing more.

        PostgreSQL's planner does not price reading (detoasting) a thread's large vector, so
        for a common word it would scan the table and read every vector (~0.4 s at 100 k
        threads); the bitmap of the index does not need them (~35 ms). ``SET LOCAL`` in the
        same implicit transaction as the count (one round trip) keeps that choice to it.
        """
        if self._counted is not None:
            return self._counted
        if self._search is None:
            raise TypeError("Not a search: count() it.")
        counted = (
            self._plain()
            .order_by()
            .annotate(search_title=_TitleMatches(self._search))
            .values("pk", "search_title")
        )
        sql, params = counted.query.get_compiler(using=self.db).as_sql()
        generation = search_generation(using=self.db)
        key = None
        if generation is not None:
            key = pagecache.key_of("search-count", generation, sql, params)
            stored = _stored_counts(pagecache.get(key))
            if stored is not None:
                self._counted = stored
                return stored
        with connections[self.db].cursor() as cursor:
            # Django compiled ``sql``; the values are in ``params``.
            statement = (
                "SELECT COUNT(*), COUNT(*) FILTER (WHERE matches.search_title) "  # noqa: S608
                f"FROM ({sql}) AS matches"
            )
            cursor.execute(
                f"SET LOCAL enable_seqscan = off; {statement}; RESET enable_seqscan", params
            )
            while cursor.description is None and cursor.nextset():
                pass
            matches, titles = cursor.fetchone()
        self._counted = (int(matches), int(titles))
        if key is not None:
            value = "{},{}".format(*self._counted)
            pagecache.set(key, value.encode(), settings.HAVEN_PAGE_CACHE_SECONDS)
        return self._counted


def _stored_counts(value: bytes | None) -> tuple[int, int] | None:
    """Counts stored by ``SearchResults._counts`` (matches, title matches); None for a miss
    or a value of another shape."""
    try:
        matches, titles = (int(part) for part in (value or b"").split(b","))
    except ValueError:
        return None
    return matches, titles


def search_generation(*, using: str = "default") -> int | None:
    """The search generation: it moves on with every committed change that may change what a
    search counts, so a count stored under it is exact while it stands. None where counts
    are not cached: not PostgreSQL, or inside a transaction (whose own writes the other
    connections do not see yet).

    It is the sum of ``forum_search_change.weight`` (migration 0014): its statement triggers
    add a row in the writer's transaction for each statement that inserts or deletes
    threads or sets a thread's vector, visibility, category, status, answer or author (or a
    category's slug or kind). A snapshot sees every such commit that it sees at all, so two
    snapshots with the same sum count the same threads. Read before the count it keys, a
    count stored is never older than its generation. A periodic job folds the log
    (``search_changes_fold``); past ``_COMPACT_AFTER`` rows, a search folds it too (a
    backstop, should the job not run).
    """
    db = connections[using]
    if db.vendor != "postgresql" or db.in_atomic_block:
        return None
    with db.cursor() as cursor:
        cursor.execute("SELECT COALESCE(SUM(weight), 0), COUNT(*) FROM forum_search_change")
        generation, rows = cursor.fetchone()
    if rows > _COMPACT_AFTER:
        search_changes_fold(using=using)
    return int(generation)


# One statement: the rows it deletes (those its snapshot sees and no other fold deleted
# first) come back as one row of their sum, in the same commit, so every snapshot sums the
# same generation before and after. Two folds at once: the second waits on the first's
# deleted rows, skips them and folds only what is left (often nothing). A writer's row
# committed meanwhile is not in the snapshot: it stays, for the next fold. Nothing when the
# log is one row already.
_FOLD = """
WITH gone AS (
    DELETE FROM forum_search_change
    WHERE (SELECT COUNT(*) FROM forum_search_change) > 1
    RETURNING weight
), folded AS (
    INSERT INTO forum_search_change (weight)
    SELECT SUM(weight) FROM gone HAVING COUNT(*) > 0
    RETURNING weight
)
SELECT COUNT(*) FROM gone
"""


def search_changes_fold(*, using: str = "default") -> int:
    """Fold the search change log (``forum_search_change``) into one row of the same sum, in
    one statement; returns the rows folded (0: nothing to fold, or not PostgreSQL).

    The search generation (``search_generation``) is the same before and after, for every
    reader; safe beside writers (their rows are kept, whole) and beside another fold. Meant
    for a periodic job (it keeps the log, and so each search's reading of it, short).
    """
    db = connections[using]
    if db.vendor != "postgresql":
        return 0
    with db.cursor() as cursor:
        cursor.execute(_FOLD)
        (folded,) = cursor.fetchone()
    return int(folded)


def _checked_first(threads: QuerySet[Thread]) -> QuerySet[Thread]:
    """``threads`` with the condition added last checked first: PostgreSQL checks conditions
    of equal cost in the order written, and the title's small vector then spares reading a
    thread's large one (a multi-word search scanning the activity index: ~50 ms → ~8 ms)."""
    children = threads.query.where.children  # the clone's own list: filter() copied it
    children.insert(0, children.pop())
    return threads


def threads_matching(threads: QuerySet[Thread], text: str) -> QuerySet[Thread]:
    """Threads matching ``text`` (web-search syntax), best first.

    PostgreSQL: a thread matches when its vector (title and posts) does. Best first means:
    the threads whose title matches too come first, then those matching in their posts
    only; within each group, newest activity first (then the highest id). Each group is
    read in that order from an index (the activity index, or the title vector's GIN index
    for a rare word), a page's worth of each, so a word in most threads costs what a rare
    one does: no match's large vector is ranked or read beyond the page. SQLite (the demo):
    ``icontains`` on the title and the visible posts, in the list's order.
    """
    if _full_text():
        query = SearchQuery(text, config=CONFIG, search_type="websearch")
        results = threads.filter(search_vector=query)._chain()  # type: ignore[attr-defined]
        results.__class__ = SearchResults
        results._search = query
        return cast(SearchResults, results)
    in_posts = Post.objects.filter(
        thread=OuterRef("pk"), status=Post.Status.VISIBLE, body__icontains=text
    )
    return threads.filter(Q(title__icontains=text) | Exists(in_posts))


def threads_like_title(threads: QuerySet[Thread], title: str, *, limit: int) -> list[Thread]:
    """Earlier threads sharing words with a draft title: any word counts, titles weigh most."""
    words = [word for word in title.split() if len(word) > 2][:12]
    if not words:
        return []
    if _full_text():
        query = reduce(or_, (SearchQuery(word, config=CONFIG) for word in words))
        return list(
            threads.filter(search_vector=query)
            .annotate(rank=SearchRank(F("search_vector"), query, weights=[0.05, 0.1, 0.3, 1.0]))
            .order_by("-rank", "-id")[:limit]
        )
    matches = reduce(or_, (Q(title__icontains=word) for word in words))
    return list(threads.filter(matches).order_by("-last_activity_at", "-id")[:limit])
