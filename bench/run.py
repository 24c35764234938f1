"""The first benchmark: thread list, posts pages and replies at a given forum size.

    .venv/bin/python bench/run.py --posts 1000
    .venv/bin/python bench/run.py --posts 100000

Creates (dropping it first) the ``haven_bench`` database on the local PostgreSQL, migrates
and seeds it, starts gunicorn on 127.0.0.1:8765 with the production settings (plus the
ceiling endpoint, ``bench.settings``), signs a member in, measures each endpoint for a
fixed time at a fixed concurrency with ``wrk`` (or a small Python load generator when wrk
is missing), prints a table and writes it to ``bench/results/<timestamp>-<posts>.md``.
gunicorn is stopped at the end; the database is left in place unless ``--drop``.
See bench/README.md.
"""

import argparse
import contextlib
import http.client
import json
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PG = {"host": "127.0.0.1", "port": 5432, "user": "haven", "password": "haven"}
DB_NAME = "haven_bench"
REDIS_URL = "redis://127.0.0.1:6379/14"
HOST = "127.0.0.1"
MEMBERS = 200
NURSES = 3
PASSWORD = "bench-Password-2026"
# Rates per second keep DRF's throttle history (one list per client in Redis) as short as
# a real member's per-minute history, while never answering 429.
THROTTLE_RATE = "1000000/s"
BATCH = 2000


# --- Small helpers ----------------------------------------------------------------------------


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class Progress:
    """A plain text progress bar on stderr."""

    def __init__(self, label: str, total: int) -> None:
        self.label, self.total, self.done = label, max(total, 1), 0
        self.started = time.monotonic()
        self._last = 0.0
        self._draw(force=True)

    def update(self, count: int = 1) -> None:
        self.done += count
        self._draw()

    def _draw(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last < 0.2 and self.done < self.total:
            return
        self._last = now
        width = 30
        filled = int(width * min(self.done, self.total) / self.total)
        bar = "#" * filled + "." * (width - filled)
        elapsed = now - self.started
        sys.stderr.write(
            f"\r  {self.label:<16} [{bar}] {100 * self.done / self.total:5.1f}% "
            f"{self.done:>9,}/{self.total:,}  {elapsed:6.1f}s"
        )
        sys.stderr.flush()

    def close(self) -> float:
        self.done = self.total
        self._draw(force=True)
        sys.stderr.write("\n")
        return time.monotonic() - self.started


@contextlib.contextmanager
def ticking(label: str) -> Iterator[None]:
    """For one long statement: show the elapsed time until it returns."""
    stop = threading.Event()
    started = time.monotonic()

    def tick() -> None:
        while not stop.wait(0.5):
            sys.stderr.write(f"\r  {label:<16} {time.monotonic() - started:6.1f}s")
            sys.stderr.flush()

    ticker = threading.Thread(target=tick, daemon=True)
    ticker.start()
    try:
        yield
    finally:
        stop.set()
        ticker.join()
        sys.stderr.write(f"\r  {label:<16} {time.monotonic() - started:6.1f}s done\n")


def database_url(name: str = DB_NAME) -> str:
    return f"postgres://{PG['user']}:{PG['password']}@{PG['host']}:{PG['port']}/{name}"


def server_env(port: int, secret_key: str) -> dict[str, str]:
    """The production environment, pointed at loopback, haven_bench and Redis db 14."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "DJANGO_SECRET_KEY": secret_key,
        "DATABASE_URL": database_url(),
        "REDIS_URL": REDIS_URL,
        "DJANGO_ALLOWED_HOSTS": f"{HOST},localhost",
        "EMAIL_URL": "dummymail://",
        "HAVEN_FRONTEND_URL": f"http://{HOST}:{port}",
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "HAVEN_THROTTLE_ANON": THROTTLE_RATE,
        "HAVEN_THROTTLE_USER": THROTTLE_RATE,
        "HAVEN_THROTTLE_POSTING": THROTTLE_RATE,
        "HAVEN_LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }


# --- Database -----------------------------------------------------------------------------


def pg_admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(dbname="postgres", autocommit=True, **PG) as conn:  # type: ignore[arg-type]
        conn.execute(sql)


def bench_meta() -> dict[str, Any] | None:
    """What the existing haven_bench was seeded with, if it exists and finished seeding."""
    import psycopg

    try:
        with psycopg.connect(dbname=DB_NAME, **PG) as conn:  # type: ignore[arg-type]
            row = conn.execute("SELECT data FROM bench_meta").fetchone()
    except psycopg.Error:
        return None
    return None if row is None else dict(row[0])


def database_size() -> str:
    import psycopg

    with psycopg.connect(dbname=DB_NAME, **PG) as conn:  # type: ignore[arg-type]
        row = conn.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
        return str(row.fetchone()[0])  # type: ignore[index]


def recreate_database(env: dict[str, str]) -> None:
    log(f"database {DB_NAME}: drop, create, migrate")
    pg_admin(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
    pg_admin(f"CREATE DATABASE {DB_NAME}")
    started = time.monotonic()
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=600,
    )
    log(f"  migrated in {time.monotonic() - started:.1f}s")
    # The HTML pages' stylesheet, as a deployment collects it (manifest storage).
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=600,
    )


def flush_redis() -> None:
    """Redis db 14 is the benchmark's own: throttle histories, sessions, queued jobs."""
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()


# --- Seeding ------------------------------------------------------------------------------


@dataclass
class PlannedPost:
    author: int  # index into the user list
    kind: str
    created_at: datetime
    status: str
    like_count: int
    body: int  # index into the body pool


@dataclass
class PlannedThread:
    category: int
    author: int
    title: str
    posts: list[PlannedPost] = field(default_factory=list)
    closed: bool = False
    nurse_answered_at: datetime | None = None


def thread_lengths(rng: random.Random, posts: int) -> tuple[int, list[int]]:
    """One thread with ~20% of all posts; the rest mostly short, some long."""
    big = max(1, round(posts * 0.2))
    remaining, lengths = posts - big, []
    while remaining > 0:
        roll = rng.random()
        if roll < 0.70:
            length = rng.randint(1, 8)
        elif roll < 0.95:
            length = rng.randint(9, 40)
        else:
            length = rng.randint(41, 300)
        length = min(length, remaining)
        lengths.append(length)
        remaining -= length
    big_at = rng.randrange(len(lengths) + 1)
    lengths.insert(big_at, big)
    return big_at, lengths


def like_count(rng: random.Random) -> int:
    roll = rng.random()
    if roll < 0.60:
        return 0
    if roll < 0.90:
        return rng.randint(1, 3)
    if roll < 0.99:
        return rng.randint(4, 10)
    return rng.randint(11, 40)


def plan_forum(
    rng: random.Random, posts: int, categories: list[Any], now: datetime, bodies: int
) -> tuple[int, list[PlannedThread]]:
    from bench.corpus import make_title

    nurse_cats = [i for i, c in enumerate(categories) if c.nurse_answered]
    peer_cats = [i for i, c in enumerate(categories) if not c.nurse_answered]
    members = list(range(MEMBERS))
    nurses = list(range(MEMBERS, MEMBERS + NURSES))
    big_at, lengths = thread_lengths(rng, posts)
    threads = []
    for index, length in enumerate(lengths):
        is_big = index == big_at
        if is_big:
            category = peer_cats[0]
            start = now - timedelta(days=720)
            span = (now - start) - timedelta(minutes=5)
        else:
            category = rng.choice(nurse_cats if rng.random() < 0.25 else peer_cats)
            start = now - timedelta(seconds=rng.uniform(3600, 730 * 86400))
            span = min(now - start - timedelta(minutes=1), length * timedelta(hours=8))
        author = rng.choice(members)
        thread = PlannedThread(category=category, author=author, title=make_title(rng))
        offsets = sorted(rng.uniform(0, span.total_seconds()) for _ in range(length - 1))
        times = [start] + [start + timedelta(seconds=offset) for offset in offsets]
        for i in range(1, len(times)):  # the posts cursor orders by created_at: keep it strict
            if times[i] <= times[i - 1]:
                times[i] = times[i - 1] + timedelta(microseconds=1)
        nurse_answer = category in nurse_cats and length >= 2 and rng.random() < 0.7
        for i, created_at in enumerate(times):
            kind, status, who = "post", "visible", author
            if i == 1 and nurse_answer:
                kind, who = "nurse_answer", rng.choice(nurses)
                thread.nurse_answered_at = created_at
            elif i > 0:
                who = author if rng.random() < 0.2 else rng.choice(members)
                if rng.random() < 0.005:
                    status = "deleted"
            thread.posts.append(
                PlannedPost(
                    author=who,
                    kind=kind,
                    created_at=created_at,
                    status=status,
                    like_count=0 if status == "deleted" else like_count(rng),
                    body=rng.randrange(bodies),
                )
            )
        thread.closed = not is_big and length >= 3 and rng.random() < 0.04
        threads.append(thread)
    return big_at, threads


def seed(posts: int, seed_value: int) -> dict[str, Any]:
    """Fill haven_bench with ``posts`` posts; returns what the load phase needs."""
    import django

    django.setup()
    from allauth.account.models import EmailAddress
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group
    from django.db import connection, transaction

    from accounts.models import User
    from accounts.roles import Role
    from bench.corpus import body_pool
    from forum.demo import CATEGORIES
    from forum.models import Category, Like, Post, Subscription, Thread
    from forum.rendering import render_markdown
    from forum.services import TOMBSTONE_HTML

    rng = random.Random(seed_value)
    now = datetime.now(UTC)
    started = time.monotonic()
    log(f"seeding {posts:,} posts")

    categories = Category.objects.bulk_create(
        [Category(position=10 * i, **spec) for i, spec in enumerate(CATEGORIES)]
    )

    password_hash = make_password(PASSWORD)
    users = [
        User(
            email=f"member{i:03d}@bench.haven.example",
            display_name=f"Member{i:03d}",
            password=password_hash,
            date_joined=now - timedelta(days=800),
        )
        for i in range(MEMBERS)
    ] + [
        User(
            email=f"carer{i}@bench.haven.example",
            display_name=f"Care Team {i + 1}",
            password=password_hash,
            role=Role.NURSE,
            title=rng.choice(["Breast Care Nurse", "Secondary Breast Care Nurse"]),
            date_joined=now - timedelta(days=800),
        )
        for i in range(NURSES)
    ]
    users = User.objects.bulk_create(users)
    EmailAddress.objects.bulk_create(
        [EmailAddress(user=u, email=u.email, primary=True, verified=True) for u in users]
    )
    nurses_group = Group.objects.get(name="Nurses")
    User.groups.through.objects.bulk_create(
        [User.groups.through(user_id=u.pk, group_id=nurses_group.pk) for u in users[MEMBERS:]]
    )
    user_ids = [u.pk for u in users]

    pool = body_pool(min(500, max(50, posts // 20)), seed=seed_value)
    bar = Progress("render bodies", len(pool))
    html = []
    for body in pool:
        html.append(render_markdown(body))
        bar.update()
    bar.close()

    big_at, plan = plan_forum(rng, posts, categories, now, len(pool))

    bar = Progress("threads", len(plan))
    thread_rows = []
    for planned in plan:
        visible = [p for p in planned.posts if p.status == "visible"]
        # As forum.services.thread_recount: visible posts but the opening one and notices.
        replies = sum(1 for p in visible[1:] if p.kind != "system")
        last = planned.posts[-1].created_at
        closer = user_ids[MEMBERS] if planned.closed else None
        thread_rows.append(
            Thread(
                category=categories[planned.category],
                author_id=user_ids[planned.author],
                title=planned.title,
                status="closed" if planned.closed else "open",
                closed_at=last + timedelta(minutes=30) if planned.closed else None,
                closed_by_id=closer,
                # Stored as forum.services.thread_close fixes it: the closing nurse's title.
                closed_by_role=Role.NURSE if planned.closed else "",
                closed_by_title=users[MEMBERS].title if planned.closed else "",
                close_reason="Answered; closing to keep the board tidy." if planned.closed else "",
                reply_count=replies,
                like_count=sum(p.like_count for p in visible),
                created_at=planned.posts[0].created_at,
                last_activity_at=last,
                nurse_answered_at=planned.nurse_answered_at,
            )
        )
    thread_ids: list[int] = []
    for start in range(0, len(thread_rows), BATCH):
        chunk = Thread.objects.bulk_create(thread_rows[start : start + BATCH])
        thread_ids.extend(t.pk for t in chunk)
        bar.update(len(chunk))
    bar.close()

    bar = Progress("posts+likes", posts)
    likes_total = 0
    follows: set[tuple[int, int]] = set()
    pending: list[tuple[Post, int]] = []

    def flush_posts() -> None:
        nonlocal likes_total
        if not pending:
            return
        with transaction.atomic():
            created = Post.objects.bulk_create([p for p, _ in pending])
            likes = []
            for post, count in zip(created, (c for _, c in pending), strict=True):
                likers = rng.sample(user_ids, count + 1)
                likers = [u for u in likers if u != post.author_id][:count]
                likes.extend(
                    Like(
                        user_id=u,
                        post_id=post.pk,
                        created_at=min(now, post.created_at + timedelta(hours=rng.uniform(0, 48))),
                    )
                    for u in likers
                )
            Like.objects.bulk_create(likes, batch_size=5000)
            likes_total += len(likes)
        bar.update(len(pending))
        pending.clear()

    for planned, thread_id in zip(plan, thread_ids, strict=True):
        for p in planned.posts:
            author_id = user_ids[p.author]
            deleted = p.status == "deleted"
            nurse_answer = p.kind == "nurse_answer"
            post = Post(
                thread_id=thread_id,
                author_id=author_id,
                # Stored as forum.services.post_add fixes it: a nurse answers under her title.
                author_role=Role.NURSE if nurse_answer else Role.MEMBER,
                author_title=users[p.author].title if nurse_answer else "",
                kind=p.kind,
                body="" if deleted else pool[p.body],
                body_html=TOMBSTONE_HTML if deleted else html[p.body],
                status=p.status,
                like_count=p.like_count,
                created_at=p.created_at,
                edited_at=p.created_at + timedelta(minutes=5) if deleted else None,
            )
            pending.append((post, p.like_count))
            follows.add((thread_id, author_id))
            if len(pending) >= BATCH:
                flush_posts()
    flush_posts()
    bar.close()

    bar = Progress("follows", len(follows))
    rows = [Subscription(thread_id=t, user_id=u) for t, u in sorted(follows)]
    for start in range(0, len(rows), 5000):
        Subscription.objects.bulk_create(rows[start : start + 5000])
        bar.update(len(rows[start : start + 5000]))
    bar.close()

    # forum.search.thread_reindex per thread would parse every thread's text once per call;
    # one statement does all of them: title weight A, visible posts weight B, the text cut
    # where the app cuts it (forum.search.THREAD_INDEX_CHARS, when the app has a limit).
    from forum import search

    limit = getattr(search, "THREAD_INDEX_CHARS", None)
    with ticking("search vectors"), connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE forum_thread AS t
            SET search_vector =
                setweight(to_tsvector('english'::regconfig, COALESCE(t.title, '')), 'A')
                || setweight(
                    to_tsvector('english'::regconfig, LEFT(COALESCE(p.text, ''), %s)), 'B'
                )
            FROM (
                SELECT thread_id, string_agg(body, E'\\n' ORDER BY created_at, id) AS text
                FROM forum_post WHERE status = 'visible' GROUP BY thread_id
            ) AS p
            WHERE p.thread_id = t.id
            """,
            [int(limit) if limit else 2**30],
        )
    with ticking("vacuum analyze"), connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")

    seconds = time.monotonic() - started
    big_id = thread_ids[big_at]
    # The reply target: an ordinary open thread of median length in a peer category.
    ordinary = sorted(
        (len(p.posts), tid)
        for i, (p, tid) in enumerate(zip(plan, thread_ids, strict=True))
        if i != big_at and not p.closed and not categories[p.category].nurse_answered
    )
    reply_id = ordinary[len(ordinary) // 2][1]
    meta = {
        "posts": posts,
        "threads": len(plan),
        "users": len(users),
        "likes": likes_total,
        "follows": len(follows),
        "big_thread": big_id,
        "big_thread_posts": len(plan[big_at].posts),
        "reply_thread": reply_id,
        "reply_thread_posts": ordinary[len(ordinary) // 2][0],
        "member_email": users[0].email,
        "seed_seconds": round(seconds, 1),
        "seeded_at": now.isoformat(),
    }
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE bench_meta (data jsonb NOT NULL)")
        cursor.execute("INSERT INTO bench_meta (data) VALUES (%s)", [json.dumps(meta)])
    log(
        f"seeded in {seconds:.1f}s: {len(plan):,} threads, {posts:,} posts, "
        f"{likes_total:,} likes, {len(follows):,} follows; database {database_size()}"
    )
    return meta


# --- Server -------------------------------------------------------------------------------


def port_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex((HOST, port)) != 0


def start_gunicorn(env: dict[str, str], port: int, workers: int, log_path: Path) -> Any:
    gunicorn = Path(sys.executable).with_name("gunicorn")
    command = [
        str(gunicorn),
        "config.wsgi:application",
        "--chdir",
        str(ROOT),
        "--bind",
        f"{HOST}:{port}",
        "--workers",
        str(workers),
        "--worker-class",
        "sync",
        "--timeout",
        "60",
        "--error-logfile",
        "-",
        "--no-control-socket",
    ]
    log(f"gunicorn: {workers} sync workers on {HOST}:{port} (log: {log_path})")
    log_file = log_path.open("ab")
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=log_file, stderr=log_file, start_new_session=True
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn exited with {process.returncode}; see {log_path}")
        with contextlib.suppress(OSError):
            status, _, _ = http_request(port, "GET", "/health/", timeout=2)
            if status == 200:
                return process
        time.sleep(0.25)
    stop_gunicorn(process)
    raise SystemExit(f"gunicorn did not answer /health/ with 200 in 60 s; see {log_path}")


def stop_gunicorn(process: Any) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)  # graceful: the master stops its workers
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def http_request(
    port: int,
    method: str,
    path: str,
    *,
    body: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 30,
) -> tuple[int, dict[str, Any] | None, int]:
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        payload = None if body is None else json.dumps(body).encode()
        all_headers = {"Accept": "application/json", **(headers or {})}
        if payload is not None:
            all_headers["Content-Type"] = "application/json"
        conn.request(method, path, body=payload, headers=all_headers)
        response = conn.getresponse()
        raw = response.read()
    finally:
        conn.close()
    try:
        data = json.loads(raw) if raw else None
    except ValueError:
        data = None
    return response.status, data, len(raw)


def sign_in(port: int, email: str) -> str:
    status, data, _ = http_request(
        port,
        "POST",
        "/_allauth/app/v1/auth/login",
        body={"email": email, "password": PASSWORD},
    )
    if status != 200 or not data:
        raise SystemExit(f"sign-in failed: {status} {data}")
    return str(data["meta"]["session_token"])


def deep_posts_path(port: int, thread_id: int, hops: int) -> tuple[str, int]:
    """Follow ``next`` from the first posts page up to ``hops`` times; the last page reached."""
    path, page = f"/api/v1/threads/{thread_id}/posts/", 1
    for _ in range(hops):
        status, data, _ = http_request(port, "GET", path)
        if status != 200 or not data or not data.get("next"):
            break
        parsed = urllib.parse.urlsplit(data["next"])
        path, page = f"{parsed.path}?{parsed.query}", page + 1
    return path, page


# --- Load ---------------------------------------------------------------------------------


@dataclass
class Endpoint:
    name: str
    method: str
    path: str
    token: str | None = None
    post: bool = False


@dataclass
class Result:
    endpoint: Endpoint
    requests: int
    seconds: float
    p50: float
    p95: float
    p99: float
    non2xx: int
    statuses: dict[str, int]
    errors: int
    bytes_per_response: float
    tool: str

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


WRK_SCRIPT = r"""
local threads = {}
function setup(thread) table.insert(threads, thread) end

wrk.method = "%(method)s"
wrk.headers["Accept"] = "application/json"
%(headers)s
function init(args)
  non2xx = 0
  statuses = {}
  counter = 0
  prefix = tostring(math.random(100000, 999999))
end

%(request)s

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
    local key = tostring(status)
    statuses[key] = (statuses[key] or 0) + 1
  end
end

function done(summary, latency, requests)
  local non = 0
  local codes = {}
  for _, t in ipairs(threads) do
    non = non + t:get("non2xx")
    for k, v in pairs(t:get("statuses")) do codes[k] = (codes[k] or 0) + v end
  end
  local parts = {}
  for k, v in pairs(codes) do table.insert(parts, string.format('"%%s": %%d', k, v)) end
  local e = summary.errors
  io.write(string.format(
    'WRK_RESULT {"requests": %%d, "duration_us": %%d, "bytes": %%d, "non2xx": %%d, '
    .. '"errors": %%d, "p50": %%d, "p95": %%d, "p99": %%d, "statuses": {%%s}}\n',
    summary.requests, summary.duration, summary.bytes, non,
    e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99),
    table.concat(parts, ", ")))
end
"""

WRK_POST_REQUEST = r"""
function request()
  counter = counter + 1
  local body = '{"body": "Benchmark reply ' .. prefix .. '-' .. counter .. '. '
    .. 'Thank you all for the replies, it helps so much to read that others have been '
    .. 'through the same. I am seeing the oncologist again on Thursday and will write down '
    .. 'my questions first, as you suggested. Sending hugs :hugs:"}'
  return wrk.format(nil, nil, nil, body)
end
"""

REPLY_TEXT = (
    "Benchmark reply {n}. Thank you all for the replies, it helps so much to read that "
    "others have been through the same. I am seeing the oncologist again on Thursday and "
    "will write down my questions first, as you suggested. Sending hugs :hugs:"
)


def wrk_run(
    endpoint: Endpoint, port: int, concurrency: int, seconds: float, threads: int
) -> Result:
    headers = []
    if endpoint.token:
        headers.append(f'wrk.headers["X-Session-Token"] = "{endpoint.token}"')
    if endpoint.post:
        headers.append('wrk.headers["Content-Type"] = "application/json"')
    script = WRK_SCRIPT % {
        "method": endpoint.method,
        "headers": "\n".join(headers),
        "request": WRK_POST_REQUEST if endpoint.post else "",
    }
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
        script_path = handle.name
    try:
        completed = subprocess.run(
            [
                "wrk",
                f"-t{threads}",
                f"-c{concurrency}",
                f"-d{seconds:g}s",
                "--timeout",
                "10s",
                "-s",
                script_path,
                f"http://{HOST}:{port}{endpoint.path}",
            ],
            capture_output=True,
            text=True,
            timeout=seconds + 60,
            check=True,
        )
    finally:
        os.unlink(script_path)
    line = next(
        (x for x in completed.stdout.splitlines() if x.startswith("WRK_RESULT ")),
        None,
    )
    if line is None:
        raise RuntimeError(f"wrk printed no result:\n{completed.stdout}\n{completed.stderr}")
    data = json.loads(line.removeprefix("WRK_RESULT "))
    requests = data["requests"]
    return Result(
        endpoint=endpoint,
        requests=requests,
        seconds=data["duration_us"] / 1e6,
        p50=data["p50"] / 1000,
        p95=data["p95"] / 1000,
        p99=data["p99"] / 1000,
        non2xx=data["non2xx"],
        statuses=data["statuses"],
        errors=data["errors"],
        bytes_per_response=data["bytes"] / requests if requests else 0.0,
        tool="wrk",
    )


def python_run(
    endpoint: Endpoint, port: int, concurrency: int, seconds: float, threads: int
) -> Result:
    """Fallback without wrk: keep-alive http.client connections, one thread each."""
    del threads
    deadline = time.monotonic() + seconds
    lock = threading.Lock()
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    totals = {"requests": 0, "bytes": 0, "errors": 0}
    counter = iter(range(10**9))
    headers = {"Accept": "application/json"}
    if endpoint.token:
        headers["X-Session-Token"] = endpoint.token
    if endpoint.post:
        headers["Content-Type"] = "application/json"

    def worker() -> None:
        mine: list[float] = []
        codes: Counter[str] = Counter()
        done = size = errors = 0
        conn: http.client.HTTPConnection | None = None
        while time.monotonic() < deadline:
            body = None
            if endpoint.post:
                body = json.dumps({"body": REPLY_TEXT.format(n=next(counter))}).encode()
            started = time.perf_counter()
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(HOST, port, timeout=10)
                conn.request(endpoint.method, endpoint.path, body=body, headers=headers)
                response = conn.getresponse()
                raw = response.read()
            except (OSError, http.client.HTTPException):
                errors += 1
                if conn is not None:
                    conn.close()
                conn = None
                continue
            mine.append((time.perf_counter() - started) * 1000)
            done, size = done + 1, size + len(raw)
            if not 200 <= response.status <= 299:
                codes[str(response.status)] += 1
            if response.will_close:
                conn.close()
                conn = None
        if conn is not None:
            conn.close()
        with lock:
            latencies.extend(mine)
            statuses.update(codes)
            totals["requests"] += done
            totals["bytes"] += size
            totals["errors"] += errors

    started = time.monotonic()
    workers = [threading.Thread(target=worker) for _ in range(concurrency)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=seconds + 30)
    elapsed = time.monotonic() - started
    latencies.sort()

    def pct(p: float) -> float:
        if not latencies:
            return 0.0
        return latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))]

    requests = totals["requests"]
    return Result(
        endpoint=endpoint,
        requests=requests,
        seconds=elapsed,
        p50=pct(50),
        p95=pct(95),
        p99=pct(99),
        non2xx=sum(statuses.values()),
        statuses=dict(statuses),
        errors=totals["errors"],
        bytes_per_response=totals["bytes"] / requests if requests else 0.0,
        tool="python",
    )


def query_profile(endpoint: Endpoint) -> tuple[int, float]:
    """Queries one request runs and their time (ms), in-process with Django's test client.

    Three requests; the figures of the fastest (caches warm), timed around each execute.
    """
    from django.db import connection
    from django.test import Client

    client = Client(HTTP_HOST=HOST)
    headers = {"HTTP_X_SESSION_TOKEN": endpoint.token} if endpoint.token else {}
    best: tuple[int, float] = (0, float("inf"))
    for n in range(3):
        timings: list[float] = []

        def timed(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
            started = time.perf_counter()
            try:
                return execute(sql, params, many, context)
            finally:
                timings.append(time.perf_counter() - started)  # noqa: B023 (used at once)

        with connection.execute_wrapper(timed):
            if endpoint.post:
                response = client.post(
                    endpoint.path,
                    data={"body": REPLY_TEXT.format(n=f"profile-{n}")},
                    content_type="application/json",
                    **headers,
                )
            else:
                response = client.get(endpoint.path, **headers)
        if not 200 <= response.status_code <= 299:
            log(f"  {endpoint.name}: in-process request answered {response.status_code}")
        sql_ms = sum(timings) * 1000
        if sql_ms < best[1]:
            best = (len(timings), sql_ms)
    return best


# --- Report -------------------------------------------------------------------------------


@dataclass
class Sample:
    result: Result
    busy: float  # % of the whole machine
    others: float  # % of the whole machine used by unrelated processes
    clean: bool


@dataclass
class Measured:
    """One endpoint over every round. Reported: the median clean sample.

    A sample is clean when unrelated processes stayed under ``--max-others``; when none is,
    the least disturbed one stands in and the row is flagged.
    """

    endpoint: Endpoint
    samples: list[Sample] = field(default_factory=list)

    @property
    def clean(self) -> list[Sample]:
        return [x for x in self.samples if x.clean]

    @property
    def reported(self) -> Sample:
        if not self.clean:
            return min(self.samples, key=lambda x: x.others)
        ordered = sorted(self.clean, key=lambda x: x.result.rps)
        return ordered[(len(ordered) - 1) // 2]

    @property
    def non2xx(self) -> int:
        return sum(x.result.non2xx for x in self.samples)

    @property
    def statuses(self) -> dict[str, int]:
        total: Counter[str] = Counter()
        for x in self.samples:
            total.update(x.result.statuses)
        return dict(total)


def cpu_times() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    except (OSError, ValueError):
        return 0, 0
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return sum(fields) - idle, sum(fields)


def _proc_stat(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()  # fields from "state" on


class CpuMeter:
    """How busy the machine was during a measurement, and how much of it was not ours.

    Ours: the gunicorn workers, the load client (a waited child, or this process), the
    PostgreSQL backends of haven_bench and the server's own background processes, Redis.
    Anything else (another engineer's test run, say) is interference, and a measurement
    disturbed by it is taken again.
    """

    def __init__(self, master_pid: int, max_others: float) -> None:
        import psycopg

        self.master_pid, self.max_others = master_pid, max_others
        self.conn = psycopg.connect(dbname=DB_NAME, autocommit=True, **PG)  # type: ignore[arg-type]

    def _our_pids(self) -> set[int]:
        pids = set()
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            fields = _proc_stat(int(entry.name))
            if fields and int(fields[1]) == self.master_pid:
                pids.add(int(entry.name))
            with contextlib.suppress(OSError):
                if (entry / "comm").read_text().strip() == "redis-server":
                    pids.add(int(entry.name))
        rows = self.conn.execute(
            "SELECT pid FROM pg_stat_activity "
            "WHERE datname = %s OR backend_type <> 'client backend'",
            [DB_NAME],
        ).fetchall()
        return pids | {row[0] for row in rows}

    def _ours(self, pids: set[int]) -> dict[int, int]:
        jiffies = {}
        for pid in pids:
            fields = _proc_stat(pid)
            if fields:
                jiffies[pid] = int(fields[11]) + int(fields[12])
        return jiffies

    def start(self) -> None:
        self.pids = self._our_pids()
        self.before = self._ours(self.pids)
        self.times = os.times()
        self.machine = cpu_times()

    def stop(self) -> tuple[float, float]:
        """(busy %, others' %) of the whole machine since ``start``."""
        busy1, total1 = cpu_times()
        times = os.times()
        after = self._ours(self.pids)
        hz = os.sysconf("SC_CLK_TCK")
        ours = sum(after[pid] - self.before[pid] for pid in after if pid in self.before)
        ours += round(
            hz
            * (
                times.user
                + times.system
                + times.children_user
                + times.children_system
                - self.times.user
                - self.times.system
                - self.times.children_user
                - self.times.children_system
            )
        )
        busy0, total0 = self.machine
        if total1 <= total0:
            return 0.0, 0.0
        busy = busy1 - busy0
        total = total1 - total0
        return 100 * busy / total, max(0.0, 100 * (busy - ours) / total)

    def wait_for_quiet(self, deadline: float) -> None:
        """Wait, at most until ``deadline`` (monotonic), for unrelated processes to go idle."""
        told = False
        while time.monotonic() < deadline:
            self.start()
            time.sleep(1)
            _, others = self.stop()
            if others <= self.max_others:
                return
            if not told:
                log(f"    other processes use {others:.0f}% of the CPU: waiting for them")
                told = True

    def close(self) -> None:
        self.conn.close()


def render_table(measured: list[Measured], profile: dict[str, tuple[int, float]]) -> str:
    ceiling = measured[0].reported.result.rps
    lines = [
        "| endpoint | req/s | p50 ms | p95 ms | p99 ms | non-2xx | vs ceiling "
        "| req/s, clean rounds | KB/resp | queries (SQL ms) | CPU busy (others) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for m in measured:
        sample = m.reported
        r = sample.result
        queries, sql_ms = profile.get(m.endpoint.name, (0, 0.0))
        non2xx = f"{m.non2xx}" + (f" {m.statuses}" if m.statuses else "")
        errors = sum(x.result.errors for x in m.samples)
        if errors:
            non2xx += f" +{errors} socket errors"
        spread = " / ".join(f"{x.result.rps:,.0f}" for x in m.clean) or "none (flagged)"
        name = m.endpoint.name + ("" if sample.clean else " (disturbed)")
        lines.append(
            f"| {name} | {r.rps:,.0f} | {r.p50:.1f} | {r.p95:.1f} | {r.p99:.1f} "
            f"| {non2xx} | {r.rps / ceiling if ceiling else 0:.2f} | {spread} "
            f"| {r.bytes_per_response / 1024:.1f} | {queries} ({sql_ms:.1f}) "
            f"| {sample.busy:.0f}% ({sample.others:.0f}%) |"
        )
    return "\n".join(lines)


def git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip()


def log_problems(log_path: Path) -> list[str]:
    """Tracebacks and errors gunicorn's workers wrote during the run."""
    text = log_path.read_text(errors="replace")
    problems = [line for line in text.splitlines() if "Traceback" in line or " ERROR " in line[:60]]
    return problems[:20]


# --- Main ---------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--posts", type=int, default=1000, help="posts to seed (default 1000)")
    parser.add_argument("--duration", type=float, default=10, help="seconds per measurement")
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="clean samples wanted per endpoint, taken in interleaved rounds; median reported",
    )
    parser.add_argument(
        "--warmup", type=float, default=2, help="unmeasured seconds per endpoint, first round"
    )
    parser.add_argument(
        "--max-others",
        type=float,
        default=8,
        help="take a measurement again when other processes used more than this %% of the CPU",
    )
    parser.add_argument(
        "--attempts", type=int, default=3, help="at most rounds x attempts rounds in all"
    )
    parser.add_argument(
        "--time-limit",
        type=float,
        default=1200,
        help="seconds after which no new round starts, clean samples or not (default 1200)",
    )
    parser.add_argument("--concurrency", type=int, default=8, help="connections in flight")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--deep-hops", type=int, default=50, help="next links to the deep page")
    parser.add_argument("--seed", type=int, default=2026, help="random seed of the data")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="keep an existing haven_bench seeded with the same --posts (no re-seed)",
    )
    parser.add_argument("--drop", action="store_true", help="drop haven_bench at the end")
    parser.add_argument(
        "--python-client", action="store_true", help="use the Python load generator, not wrk"
    )
    return parser.parse_args()


def build_endpoints(
    port: int, meta: dict[str, Any], token: str, hops: int
) -> tuple[list[Endpoint], int]:
    big, reply = meta["big_thread"], meta["reply_thread"]
    deep_path, deep_page = deep_posts_path(port, big, hops)
    posts_path = f"/api/v1/threads/{big}/posts/"
    endpoints = [
        Endpoint("GET /bench/ceiling/", "GET", "/bench/ceiling/"),
        Endpoint("GET /threads/ (anonymous)", "GET", "/api/v1/threads/"),
        Endpoint("GET /threads/ (signed in)", "GET", "/api/v1/threads/", token=token),
        Endpoint("GET big thread posts, page 1", "GET", posts_path),
        Endpoint(f"GET big thread posts, page {deep_page}", "GET", deep_path),
        Endpoint(
            f"GET big thread posts, page {deep_page} (signed in)", "GET", deep_path, token=token
        ),
        # The same pages as HTML (step 6): the same selectors and cursor, rendered by templates.
        Endpoint("GET big thread page (HTML), page 1", "GET", f"/t/{big}/"),
        Endpoint(
            f"GET big thread page (HTML), page {deep_page}",
            "GET",
            f"/t/{big}/?{urllib.parse.urlsplit(deep_path).query}",
        ),
        Endpoint(
            f"POST reply ({meta['reply_thread_posts']}-post thread)",
            "POST",
            f"/api/v1/threads/{reply}/posts/",
            token=token,
            post=True,
        ),
        Endpoint(
            f"POST reply (big thread, {meta['big_thread_posts']:,} posts)",
            "POST",
            posts_path,
            token=token,
            post=True,
        ),
    ]
    return endpoints, deep_page


def main() -> int:
    args = parse_args()
    if args.port == 8000:
        raise SystemExit("port 8000 belongs to the dev server; pick another")
    if not port_free(args.port):
        raise SystemExit(f"{HOST}:{args.port} is already in use")
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")  # noqa: DTZ005 (a local file name)
    commit = git_commit()  # now: the code gunicorn will load, not what lands during the run
    log_path = RESULTS / f"{stamp}-{args.posts}-gunicorn.log"
    env = server_env(args.port, secrets.token_urlsafe(48))
    os.environ.update(env)

    meta = bench_meta() if args.reuse else None
    if meta is not None and meta.get("posts") == args.posts:
        log(f"reusing {DB_NAME} seeded at {meta['seeded_at']} ({args.posts:,} posts)")
        import django

        django.setup()
    else:
        recreate_database(env)
        meta = seed(args.posts, args.seed)
    flush_redis()

    size_before = database_size()
    use_wrk = shutil.which("wrk") is not None and not args.python_client
    run_load = wrk_run if use_wrk else python_run
    wrk_threads = 1 if args.concurrency < 16 else 2

    process = start_gunicorn(env, args.port, args.workers, log_path)
    measured: list[Measured] = []
    profile: dict[str, tuple[int, float]] = {}
    try:
        token = sign_in(args.port, meta["member_email"])
        endpoints, deep_page = build_endpoints(args.port, meta, token, args.deep_hops)
        for endpoint in endpoints:
            status, _, _ = http_request(
                args.port,
                endpoint.method,
                endpoint.path,
                body={"body": REPLY_TEXT.format(n="check")} if endpoint.post else None,
                headers={"X-Session-Token": endpoint.token} if endpoint.token else None,
            )
            if not 200 <= status <= 299:
                log(f"  warning: {endpoint.name} answered {status} before the run")
            profile[endpoint.name] = query_profile(endpoint)

        log(
            f"load: {'wrk' if use_wrk else 'python client'}, {args.concurrency} connections, "
            f"{args.rounds} round(s) of {args.duration:g}s per endpoint "
            f"(+{args.warmup:g}s warm-up in the first)"
        )
        measured = [Measured(endpoint) for endpoint in endpoints]
        meter = CpuMeter(process.pid, args.max_others)
        give_up = time.monotonic() + args.time_limit
        for round_no in range(1, args.rounds * args.attempts + 1):
            todo = [m for m in measured if len(m.clean) < args.rounds]
            if not todo or (round_no > 1 and time.monotonic() > give_up):
                break
            for m in todo:
                if round_no == 1 and args.warmup > 0:
                    run_load(m.endpoint, args.port, args.concurrency, args.warmup, wrk_threads)
                meter.wait_for_quiet(min(give_up, time.monotonic() + 60))
                meter.start()
                result = run_load(
                    m.endpoint, args.port, args.concurrency, args.duration, wrk_threads
                )
                busy, others = meter.stop()
                clean = others <= args.max_others
                m.samples.append(Sample(result, busy, others, clean))
                log(
                    f"  [{round_no}] {m.endpoint.name:<46} {result.rps:7,.0f} req/s  "
                    f"p50 {result.p50:6.1f} ms  p99 {result.p99:6.1f} ms  "
                    f"non-2xx {result.non2xx}  others {others:3.0f}%"
                    + ("" if clean else "  (disturbed: not counted)")
                )
        meter.close()
    finally:
        stop_gunicorn(process)
        log("gunicorn stopped")

    table = render_table(measured, profile)
    problems = log_problems(log_path)
    header = [
        f"# Haven benchmark, {args.posts:,} posts",
        "",
        f"- run {stamp}, commit {commit}, {os.cpu_count()} CPUs; gunicorn "
        f"{args.workers} sync workers; {'wrk' if use_wrk else 'Python client'}, "
        f"{args.concurrency} connections; {args.duration:g}s per measurement, the median of "
        f"{args.rounds} clean interleaved rounds reported",
        f"- data: {meta['threads']:,} threads, {meta['posts']:,} posts "
        f"(big thread {meta['big_thread_posts']:,}), {meta['users']} accounts, "
        f"{meta['likes']:,} likes, {meta['follows']:,} follows; "
        f"seeded in {meta['seed_seconds']}s; database {size_before} before the run",
        f"- deep page: page {deep_page} of the big thread, reached by following `next`",
        "- queries (SQL ms): one request in-process (Django test client), fastest of three",
        "- CPU busy: the whole machine (server, PostgreSQL, Redis and the client share 2 cores);"
        " (others): the part used by unrelated processes. Each measurement first waits (up to "
        f"60 s) for them to go idle; one where they passed {args.max_others:g}% is not counted "
        "and the endpoint gets another round",
        f"- gunicorn log: {log_path.name}"
        + (f" ({len(problems)} error lines, see it)" if problems else " (no errors)"),
        "",
    ]
    report = "\n".join(header) + table + "\n"
    out = RESULTS / f"{stamp}-{args.posts}.md"
    out.write_text(report)
    print()
    print(report)
    log(f"written to {out}")
    if problems:
        log("gunicorn logged errors:\n  " + "\n  ".join(problems))

    if args.drop:
        from django.db import connections

        connections.close_all()
        pg_admin(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        log(f"dropped {DB_NAME}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
