"""Full-text search over threads: PostgreSQL's tsvector (title weight A, posts weight B).

The vector is stored on the thread: a new post's text is appended by its fan-out job
(``forum.fanout``), in the transaction that marks the post fanned out; the services rebuild
it when a post is edited, deleted or moderated. A rebuild reads the posts already fanned
out only, so a post is counted once whichever of the two comes first. SQLite (the zero
set-up demo) has no full-text search; there, searching falls back to ``icontains``.
"""

import logging
from functools import reduce
from operator import or_
from typing import Any

from django.contrib.postgres.search import (
    SearchQuery,
    SearchRank,
    SearchVector,
    SearchVectorField,
)
from django.db import DataError, OperationalError, connection, transaction
from django.db.models import Exists, F, Func, OuterRef, Q, QuerySet, Subquery, TextField, Value
from django.db.models.functions import Coalesce, Left

from forum.models import Post, Thread

CONFIG = "english"


# PostgreSQL refuses a tsvector over 1 MB: index the start of each post and of each thread,
# and never let indexing fail a reply.
POST_INDEX_CHARS = 4_000
THREAD_INDEX_CHARS = 200_000

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


def threads_matching(threads: QuerySet[Thread], text: str) -> QuerySet[Thread]:
    """Threads matching ``text`` (web-search syntax), best first."""
    if _full_text():
        query = SearchQuery(text, config=CONFIG, search_type="websearch")
        return (
            threads.filter(search_vector=query)
            .annotate(rank=SearchRank(F("search_vector"), query))
            .order_by("-rank", "-last_activity_at", "-id")
        )
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
