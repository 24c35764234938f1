"""Seed a benchmark forum of any size with PostgreSQL COPY: 1,000 posts in a second, 1 M in minutes.

The shape (``shape_for``): about ten posts a thread on average, skewed as forums are (most
threads short, a few long) plus four threads the benchmark rows need:

- the **long thread** (``long_thread`` posts: 5,000 at 1 M posts, 200 at 1,000) for the
  deep page row, a cursor far into it;
- the **fan thread**, ten posts, followed by ``fan_followers`` members (10,000 at 1 M
  posts; fewer at smaller sizes, ``--followers`` overrides) plus the replier;
- the **quiet thread**, its twin (same category, same length) followed by its author and
  the replier only: one follower to notify;
- ``REPLY_THREADS`` ordinary open threads the reply rows spread their posts over.

Members, nurses and likers (members who never liked or wrote anything, so every
(liker, post) pair is a fresh like) are created first; then threads, posts, likes and
follows are generated thread by thread and streamed into the tables with ``COPY`` in
batches, with explicit ids (the sequences are moved past them at the end). During the load
the tables' foreign keys and secondary indexes are dropped and then recreated, which is
how PostgreSQL bulk loads fastest. Search vectors are built in SQL, one
``UPDATE ... FROM (string_agg ...)`` per batch of threads, as ``forum.search.thread_reindex``
builds one thread's. Counters (``reply_count``, ``like_count``, ``last_activity_at``,
``nurse_answered_at``) are computed the way ``forum.services`` keeps them; every post counts
as fanned out (``fanned_out_at`` set), as posts written before the outbox do.
"""

import json
import random
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.progress import Progress, log, ticking

PASSWORD = "bench-Password-2026"
NURSES = 3
REPLY_THREADS = 200
BATCH_THREADS = 2_000
# A rare word, put in a few thread titles so that a selective search has something to find
# (the corpus's 50 sentences put every common word in nearly every thread).
RARE_WORD = "Zoladex"
RARE_SHARE = 0.002
# ...and at least a page of them at every size (the first threads seeded), so that the rare
# search reads a full page at 1 k posts as at 1 M, where 0.2 % of 100 threads is none at all.
RARE_AT_LEAST = 20
# What a database seeded by an older version of this file lacks: ``--reuse`` reseeds it.
SEED_VERSION = 2


@dataclass(frozen=True)
class Shape:
    posts: int
    members: int
    likers: int
    long_thread: int
    fan_followers: int


def shape_for(posts: int, *, followers: int | None = None) -> Shape:
    """How big each part of a forum of ``posts`` posts is."""
    posts = max(posts, 60)
    long_thread = min(5_000, max(posts // 200, min(200, posts // 5)))
    fan = followers if followers is not None else min(10_000, max(5, posts // 10))
    return Shape(
        posts=posts,
        members=max(200, posts // 40, fan + 2),
        # Enough fresh (liker, post) pairs for a run of the like row at any size.
        likers=min(64, max(8, -(-40_000 // posts))),
        long_thread=long_thread,
        fan_followers=fan,
    )


def ordinary_lengths(rng: random.Random, total: int) -> list[int]:
    """Thread lengths summing to ``total``, ten on average: most short, a few long."""
    lengths: list[int] = []
    while total > 0:
        roll = rng.random()
        if roll < 0.66:
            length = rng.randint(1, 6)
        elif roll < 0.91:
            length = rng.randint(7, 18)
        elif roll < 0.985:
            length = rng.randint(19, 50)
        elif roll < 0.9995:
            length = rng.randint(51, 200)
        else:
            length = rng.randint(500, 1_500)
        length = min(length, total)
        lengths.append(length)
        total -= length
    return lengths


def like_count(rng: random.Random) -> int:
    roll = rng.random()
    if roll < 0.60:
        return 0
    if roll < 0.90:
        return rng.randint(1, 3)
    if roll < 0.99:
        return rng.randint(4, 10)
    return rng.randint(11, 40)


# --- COPY ---------------------------------------------------------------------------------


class Table:
    """COPY rows into one model's table: the given columns, every other one at its default."""

    def __init__(self, model: Any, columns: Sequence[str]) -> None:
        from django.db import connection

        self.table = model._meta.db_table
        fields = {f.column: f for f in model._meta.concrete_fields}
        unknown = set(columns) - set(fields)
        if unknown:
            raise ValueError(f"{self.table} has no columns {sorted(unknown)}")
        rest = [
            f
            for column, f in fields.items()
            if column not in columns and not f.primary_key and f.column != "search_vector"
        ]
        self.columns = [*columns, *(f.column for f in rest)]
        self.tail = tuple(f.get_db_prep_save(f.get_default(), connection) for f in rest)
        cols = ", ".join(f'"{c}"' for c in self.columns)
        self.statement = f'COPY "{self.table}" ({cols}) FROM STDIN'

    def copy(self, rows: Iterable[tuple[Any, ...]]) -> int:
        from django.db import connection

        count = 0
        tail = self.tail
        with connection.cursor() as cursor, cursor.cursor.copy(self.statement) as copy:
            for row in rows:
                copy.write_row(row + tail)
                count += 1
        return count


def _execute(sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if cursor.description else []


def _next_id(table: str) -> int:
    return int(_execute(f"SELECT COALESCE(MAX(id), 0) + 1 FROM {table}")[0][0])  # noqa: S608


def _sequence_past_ids(table: str) -> None:
    _execute(
        f"SELECT setval(pg_get_serial_sequence(%s, 'id'), (SELECT MAX(id) FROM {table}))",  # noqa: S608
        [table],
    )


class BulkLoad:
    """Drop the tables' foreign keys and secondary indexes for the load, then put them back."""

    def __init__(self, tables: Sequence[str]) -> None:
        self.tables = list(tables)
        self.foreign_keys: list[tuple[str, str, str]] = []
        self.indexes: list[tuple[str, str]] = []

    def __enter__(self) -> "BulkLoad":
        self.foreign_keys = [
            (table, name, definition)
            for table, name, definition in _execute(
                "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) "
                "FROM pg_constraint WHERE contype = 'f' AND conrelid::regclass::text = ANY(%s)",
                [self.tables],
            )
        ]
        self.indexes = [
            (name, definition)
            for name, definition in _execute(
                "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) "
                "FROM pg_index i WHERE i.indrelid::regclass::text = ANY(%s) "
                "AND NOT i.indisprimary "
                "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)",
                [self.tables],
            )
        ]
        for table, name, _ in self.foreign_keys:
            _execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        for name, _ in self.indexes:
            _execute(f"DROP INDEX {name}")
        return self

    def restore(self, *, search: bool) -> None:
        """Recreate what was dropped: the search (GIN) indexes, or everything else."""
        _execute("SET maintenance_work_mem = '256MB'")
        # Deferred foreign keys queue checks of the rows just written; run them now, since
        # a table with checks pending cannot take an index.
        _execute("SET CONSTRAINTS ALL IMMEDIATE")
        indexes = [d for _, d in self.indexes if ("search_vector" in d) == search]
        keys = [] if search else self.foreign_keys
        bar = Progress("search index" if search else "indexes", len(indexes) + len(keys))
        for definition in indexes:
            _execute(definition)
            bar.update()
        for table, name, definition in keys:
            _execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
            bar.update()
        bar.close()

    def __exit__(self, *exc: object) -> None:
        # The search index comes back after the vectors are built (restore(search=True)).
        if exc[0] is None:
            self.restore(search=False)


# --- The forum ----------------------------------------------------------------------------


@dataclass
class Special:
    long: int = 0
    fan: int = 0
    quiet: int = 0
    reply: tuple[int, ...] = ()


def _users(
    shape: Shape, now: datetime, rng: random.Random
) -> tuple[list[int], list[int], list[int]]:
    """Members, nurses, likers (COPY); their verified addresses; the nurses' group."""
    from allauth.account.models import EmailAddress
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group

    from accounts.models import User
    from accounts.roles import Role

    password = make_password(PASSWORD)
    joined = now - timedelta(days=800)
    first = _next_id("accounts_user")
    width = max(3, len(str(shape.members - 1)))
    people: list[tuple[str, str, str, str]] = [
        (f"member{i:0{width}d}@bench.haven.example", f"Member{i:0{width}d}", Role.MEMBER, "")
        for i in range(shape.members)
    ]
    people += [
        (
            f"carer{i}@bench.haven.example",
            f"Care Team {i + 1}",
            Role.NURSE,
            rng.choice(["Breast Care Nurse", "Secondary Breast Care Nurse"]),
        )
        for i in range(NURSES)
    ]
    people += [
        (f"liker{i:02d}@bench.haven.example", f"Liker{i:02d}", Role.MEMBER, "")
        for i in range(shape.likers)
    ]
    users = Table(User, ["id", "email", "display_name", "role", "password", "date_joined"])
    users.copy(
        (first + i, email, name, role, password, joined)
        for i, (email, name, role, _) in enumerate(people)
    )
    nurse_titles = [title for *_, title in people[shape.members : shape.members + NURSES]]
    for offset, title in enumerate(nurse_titles):
        User.objects.filter(pk=first + shape.members + offset).update(title=title)
    _sequence_past_ids("accounts_user")
    addresses = Table(EmailAddress, ["user_id", "email", "primary", "verified"])
    addresses.copy((first + i, person[0], True, True) for i, person in enumerate(people))
    group = Group.objects.get(name="Nurses")
    User.groups.through.objects.bulk_create(
        [
            User.groups.through(user_id=first + shape.members + i, group_id=group.pk)
            for i in range(NURSES)
        ]
    )
    ids = list(range(first, first + len(people)))
    members = ids[: shape.members]
    nurses = ids[shape.members : shape.members + NURSES]
    likers = ids[shape.members + NURSES :]
    return members, nurses, likers


def seed(
    *, posts: int, seed_value: int = 2026, followers: int | None = None, vacuum: bool = True
) -> dict[str, Any]:
    """Fill the (migrated, empty) database with a forum of ``posts`` posts; what the runs need.

    Times each phase; the total is ``seed_seconds`` in the result.
    """
    from django.db import connection

    from accounts.models import User
    from accounts.roles import Role
    from bench.corpus import body_pool, make_title
    from forum.demo import CATEGORIES
    from forum.models import Category, Like, Post, Subscription, Thread
    from forum.rendering import render_markdown
    from forum.services import TOMBSTONE_HTML, thread_counts_recount

    shape = shape_for(posts, followers=followers)
    posts = shape.posts
    rng = random.Random(seed_value)
    now = datetime.now(UTC)
    started = time.monotonic()
    phases: dict[str, float] = {}
    log(
        f"seeding {posts:,} posts: {shape.members:,} members, long thread {shape.long_thread:,} "
        f"posts, fan thread {shape.fan_followers:,} followers"
    )
    _execute("SET synchronous_commit = off")

    categories = Category.objects.bulk_create(
        [Category(position=10 * i, **spec) for i, spec in enumerate(CATEGORIES)]
    )
    nurse_cats = [c.pk for c in categories if c.nurse_answered]
    peer_cats = [c.pk for c in categories if not c.nurse_answered]
    members, nurses, likers = _users(shape, now, rng)
    nurse_title = dict(User.objects.filter(pk__in=nurses).values_list("pk", "title"))
    phases["accounts"] = time.monotonic() - started

    pool = body_pool(min(500, max(50, posts // 20)), seed=seed_value)
    bar = Progress("render bodies", len(pool))
    html = []
    for text in pool:
        html.append(render_markdown(text))
        bar.update()
    bar.close()

    # The threads: ordinary lengths, then the four special ones at random places.
    twin = 10
    lengths = ordinary_lengths(rng, posts - shape.long_thread - 2 * twin)
    order: list[str | None] = [None] * len(lengths)
    for which in ("long", "fan", "quiet"):
        at = rng.randrange(len(order) + 1)
        order.insert(at, which)
        lengths.insert(at, {"long": shape.long_thread, "fan": twin, "quiet": twin}[which])
    thread_first, post_first = _next_id("forum_thread"), _next_id("forum_post")
    special = Special()
    replier = members[0]

    threads_t = Table(
        Thread,
        [
            "id", "category_id", "author_id", "title", "status", "closed_at", "closed_by_id",
            "closed_by_role", "closed_by_title", "close_reason", "reply_count", "like_count",
            "created_at", "last_activity_at", "nurse_answered_at",
        ],
    )  # fmt: skip
    posts_t = Table(
        Post,
        [
            "id", "thread_id", "author_id", "author_role", "author_title", "kind", "body",
            "body_html", "status", "like_count", "created_at", "edited_at", "fanned_out_at",
        ],
    )  # fmt: skip
    likes_t = Table(Like, ["user_id", "post_id", "created_at"])
    follows_t = Table(Subscription, ["thread_id", "user_id", "created_at"])

    totals = {"threads": 0, "posts": 0, "likes": 0, "follows": 0}
    reply_candidates: list[tuple[int, int]] = []
    long_posts = 0
    load_started = time.monotonic()
    bar = Progress("posts+likes", posts)
    tables = ["forum_thread", "forum_post", "forum_like", "forum_subscription"]
    with BulkLoad(tables) as bulk:
        for start in range(0, len(lengths), BATCH_THREADS):
            thread_rows: list[tuple[Any, ...]] = []
            post_rows: list[tuple[Any, ...]] = []
            like_rows: list[tuple[Any, ...]] = []
            follow_rows: list[tuple[Any, ...]] = []
            next_post = post_first + totals["posts"]
            for index in range(start, min(start + BATCH_THREADS, len(lengths))):
                thread_id, length, kind = thread_first + index, lengths[index], order[index]
                if kind is None:
                    nurse_cat = rng.random() < 0.25
                    category = rng.choice(nurse_cats if nurse_cat else peer_cats)
                    begin = now - timedelta(seconds=rng.uniform(3600, 730 * 86400))
                    span = min(now - begin - timedelta(minutes=1), length * timedelta(hours=8))
                else:
                    nurse_cat, category = False, peer_cats[0]
                    days = 720 if kind == "long" else 30
                    begin = now - timedelta(days=days)
                    span = (now - begin) - timedelta(minutes=5)
                # Who writes: anyone; in the fan thread its followers; in the quiet thread its
                # author and the replier, its only followers.
                writers = members
                if kind == "fan":
                    writers = members[1 : shape.fan_followers + 1]
                author = rng.choice(writers if kind != "quiet" else members[1:])
                if kind == "quiet":
                    writers = [author, replier]
                offsets = sorted(rng.uniform(0, span.total_seconds()) for _ in range(length - 1))
                times = [begin] + [begin + timedelta(seconds=o) for o in offsets]
                for i in range(1, len(times)):  # the posts cursor orders by created_at
                    if times[i] <= times[i - 1]:
                        times[i] = times[i - 1] + timedelta(microseconds=1)
                nurse_answer = nurse_cat and length >= 2 and rng.random() < 0.7
                answered_at = None
                replies = thread_likes = 0
                followed: dict[int, datetime] = {}
                for i, created_at in enumerate(times):
                    post_kind, status, who, role, title = "post", "visible", author, Role.MEMBER, ""
                    if i == 1 and nurse_answer:
                        post_kind, who, role = "nurse_answer", rng.choice(nurses), Role.NURSE
                        title, answered_at = nurse_title[who], created_at
                    elif i > 0:
                        who = author if rng.random() < 0.2 else rng.choice(writers)
                        if kind is None and rng.random() < 0.005:
                            status = "deleted"
                    deleted = status == "deleted"
                    likes = 0 if deleted else like_count(rng)
                    body = rng.randrange(len(pool))
                    post_rows.append(
                        (
                            next_post, thread_id, who, role, title, post_kind,
                            "" if deleted else pool[body],
                            TOMBSTONE_HTML if deleted else html[body],
                            status, likes, created_at,
                            created_at + timedelta(minutes=5) if deleted else None,
                            created_at,
                        )
                    )  # fmt: skip
                    if likes:
                        for liker in rng.sample(members, likes + 1):
                            if liker != who and likes:
                                like_at = min(now, created_at + timedelta(hours=rng.uniform(0, 48)))
                                like_rows.append((liker, next_post, like_at))
                                likes -= 1
                    if not deleted:
                        thread_likes += post_rows[-1][9]
                        replies += i > 0
                    followed.setdefault(who, created_at)
                    next_post += 1
                if kind == "fan":
                    special.fan = thread_id
                    for follower in members[1 : shape.fan_followers + 1]:
                        followed.setdefault(follower, times[-1])
                    followed.setdefault(replier, times[-1])
                elif kind == "quiet":
                    special.quiet = thread_id
                    followed.setdefault(replier, times[0])
                elif kind == "long":
                    special.long, long_posts = thread_id, length
                closed = kind is None and length >= 3 and rng.random() < 0.04
                if kind is None and not closed and not nurse_cat and length >= 2:
                    reply_candidates.append((thread_id, length))
                title = make_title(rng)
                if rng.random() < RARE_SHARE or index < RARE_AT_LEAST:
                    title = f"{title} ({RARE_WORD})"
                last = times[-1]
                thread_rows.append(
                    (
                        thread_id, category, author, title, "closed" if closed else "open",
                        last + timedelta(minutes=30) if closed else None,
                        nurses[0] if closed else None,
                        Role.NURSE if closed else "",
                        nurse_title[nurses[0]] if closed else "",
                        "Answered; closing to keep the board tidy." if closed else "",
                        replies, thread_likes, times[0], last, answered_at,
                    )
                )  # fmt: skip
                follow_rows.extend((thread_id, user, at) for user, at in followed.items())
            totals["threads"] += threads_t.copy(thread_rows)
            totals["posts"] += posts_t.copy(post_rows)
            totals["likes"] += likes_t.copy(like_rows)
            totals["follows"] += follows_t.copy(follow_rows)
            bar.update(len(post_rows))
        phases["posts, likes, follows"] = bar.close()
        index_started = time.monotonic()
    phases["indexes"] = time.monotonic() - index_started
    phases["load"] = time.monotonic() - load_started
    for table in ("forum_thread", "forum_post"):
        _sequence_past_ids(table)
    # The threads came in by COPY, around the services: the categories' counts are set once.
    thread_counts_recount()

    phases["search vectors"] = build_search_vectors(
        thread_first, thread_first + len(lengths), [*pool, ""]
    )
    index_started = time.monotonic()
    bulk.restore(search=True)
    phases["search index"] = time.monotonic() - index_started
    if vacuum:
        vacuum_started = time.monotonic()
        with ticking("vacuum analyze"), connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
        phases["vacuum analyze"] = time.monotonic() - vacuum_started

    reply_rng = random.Random(seed_value + 1)
    reply_threads = sorted(
        reply_rng.sample(reply_candidates, min(REPLY_THREADS, len(reply_candidates)))
    )
    median_length = sorted(n for _, n in reply_threads)[len(reply_threads) // 2]
    seconds = time.monotonic() - started
    meta = {
        "posts": totals["posts"],
        "threads": totals["threads"],
        "users": len(members) + len(nurses) + len(likers),
        "members": len(members),
        "likes": totals["likes"],
        "follows": totals["follows"],
        "big_thread": special.long,
        "big_thread_posts": long_posts,
        "fan_thread": special.fan,
        "fan_followers": shape.fan_followers,
        "quiet_thread": special.quiet,
        "twin_posts": twin,
        "reply_threads": [t for t, _ in reply_threads],
        "reply_thread": reply_threads[len(reply_threads) // 2][0],
        "reply_thread_posts": median_length,
        "member_email": f"member{0:0{max(3, len(str(shape.members - 1)))}d}@bench.haven.example",
        "liker_emails": [f"liker{i:02d}@bench.haven.example" for i in range(shape.likers)],
        "like_offset": 0,
        "rare_word": RARE_WORD,
        "seed_version": SEED_VERSION,
        "seed_seconds": round(seconds, 1),
        # A list: jsonb would sort an object's keys, and the phases read in their order.
        "seed_phases": [[k, round(v, 1)] for k, v in phases.items()],
        "seeded_at": now.isoformat(),
    }
    _execute("CREATE TABLE IF NOT EXISTS bench_meta (data jsonb NOT NULL)")
    _execute("DELETE FROM bench_meta")
    _execute("INSERT INTO bench_meta (data) VALUES (%s)", [json.dumps(meta)])
    log(
        f"seeded in {seconds:.1f}s: {totals['threads']:,} threads, {totals['posts']:,} posts, "
        f"{totals['likes']:,} likes, {totals['follows']:,} follows "
        + ", ".join(f"{k} {v:.1f}s" for k, v in phases.items())
    )
    return meta


def _batches(first: int, end: int, size: int) -> Iterator[tuple[int, int]]:
    for low in range(first, end, size):
        yield low, min(low + size, end)


def build_search_vectors(
    first: int, end: int, bodies: Sequence[str], size: int = BATCH_THREADS
) -> float:
    """Every thread's vector, as the app builds it (``forum.search``), batch by batch.

    Title weight A, visible posts weight B, the text cut at ``THREAD_INDEX_CHARS`` (here: the
    posts that fit whole). Posts repeat the pool's few hundred bodies, so each body is parsed
    once and a thread's vector is its posts' vectors concatenated in order, the way
    ``forum.search.thread_index_append`` grows it reply by reply.
    """
    from forum import search

    started = time.monotonic()
    limit = int(getattr(search, "THREAD_INDEX_CHARS", 2**30))
    _execute(
        "CREATE AGGREGATE pg_temp.bench_tsvector_agg(tsvector) "
        "(SFUNC = tsvector_concat, STYPE = tsvector, INITCOND = '')"
    )
    _execute("CREATE TEMP TABLE bench_body_vector (body text PRIMARY KEY, vector tsvector)")
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO bench_body_vector (body) VALUES (%s) ON CONFLICT DO NOTHING",
            [(b,) for b in bodies],
        )
    _execute(
        "UPDATE bench_body_vector "
        "SET vector = setweight(to_tsvector('english'::regconfig, body), 'B')"
    )
    bar = Progress("search vectors", end - first)
    for low, high in _batches(first, end, size):
        _execute(
            """
            UPDATE forum_thread AS t
            SET search_vector =
                setweight(to_tsvector('english'::regconfig, COALESCE(t.title, '')), 'A') || p.vector
            FROM (
                SELECT
                    thread_id,
                    pg_temp.bench_tsvector_agg(vector ORDER BY created_at, id) AS vector
                FROM (
                    SELECT
                        post.thread_id, post.created_at, post.id,
                        COALESCE(
                            known.vector,
                            setweight(to_tsvector('english'::regconfig, post.body), 'B')
                        ) AS vector,
                        SUM(LENGTH(post.body) + 1) OVER (
                            PARTITION BY post.thread_id ORDER BY post.created_at, post.id
                        ) AS text_so_far
                    FROM forum_post AS post
                    LEFT JOIN bench_body_vector AS known ON known.body = post.body
                    WHERE post.status = 'visible' AND post.thread_id >= %s AND post.thread_id < %s
                ) AS posts
                WHERE text_so_far <= %s
                GROUP BY thread_id
            ) AS p
            WHERE p.thread_id = t.id
            """,
            [low, high, limit],
        )
        bar.update(high - low)
    bar.close()
    _execute("DROP TABLE bench_body_vector")
    _execute("DROP AGGREGATE pg_temp.bench_tsvector_agg(tsvector)")
    return time.monotonic() - started
