"""The scale benchmark: reads, writes and fan-out beside the ceiling, at 1 k to 1 M posts.

    .venv/bin/python bench/run.py --posts 1000
    .venv/bin/python bench/run.py --posts 1000,1000000 --reuse --write-results

For each size: creates (dropping it first, unless ``--reuse`` finds it seeded) the
database ``<--db>_<posts>`` on the local PostgreSQL, migrates and seeds it with COPY
(``bench/seed.py``), signs members in, then for each gunicorn worker count (``--workers``,
default 1,2) starts gunicorn on 127.0.0.1 with the production settings (plus the ceiling
endpoint, ``bench.settings``) and measures every row at each connection count
(``--connections``, default 1,8) with ``wrk`` (or a small Python load generator when wrk is
missing), the ceiling in the same rounds. Prints the tables and writes them with a JSON
copy to ``bench/results/``; ``--write-results`` also writes ``bench/RESULTS.md`` with the
machine, the command and the targets. ``--fanout`` times the 10 k-follower fan-out
(``bench/fanout.py``). gunicorn is stopped at the end; the databases are left in place
unless ``--drop``. See bench/README.md.
"""

import argparse
import contextlib
import http.client
import json
import os
import secrets
import shlex
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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.progress import log  # noqa: E402 (after the path is set)
from bench.seed import PASSWORD  # noqa: E402

PG = {"host": "127.0.0.1", "port": 5432, "user": "haven", "password": "haven"}
DB_PREFIX = "haven_bench"
DB_NAME = DB_PREFIX  # the database of the size being measured (set by main)
REDIS_URL = "redis://127.0.0.1:6379/14"
HOST = "127.0.0.1"
# Rates per second keep the throttles' state per client short, while never answering 429.
THROTTLE_RATE = "1000000/s"
HOT_CONNECTIONS = 10
COMMON_QUERY = "tamoxifen"


def database_url(name: str | None = None) -> str:
    name = name or DB_NAME
    return f"postgres://{PG['user']}:{PG['password']}@{PG['host']}:{PG['port']}/{name}"


def server_env(port: int, secret_key: str) -> dict[str, str]:
    """The production environment, pointed at loopback, the size's database and Redis db."""
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
    """What the existing database was seeded with, if it exists and finished seeding."""
    import psycopg

    try:
        with psycopg.connect(dbname=DB_NAME, **PG) as conn:  # type: ignore[arg-type]
            row = conn.execute("SELECT data FROM bench_meta").fetchone()
    except psycopg.Error:
        return None
    return None if row is None else dict(row[0])


def seeded_now(meta: dict[str, Any]) -> bool:
    """Whether a database was seeded as ``bench/seed.py`` seeds now (else ``--reuse`` reseeds)."""
    from bench.seed import SEED_VERSION

    return meta.get("seed_version") == SEED_VERSION


def bench_meta_update(**changes: Any) -> None:
    import psycopg

    with psycopg.connect(dbname=DB_NAME, autocommit=True, **PG) as conn:  # type: ignore[arg-type]
        conn.execute("UPDATE bench_meta SET data = data || %s::jsonb", [json.dumps(changes)])


def database_size() -> str:
    import psycopg

    with psycopg.connect(dbname=DB_NAME, **PG) as conn:  # type: ignore[arg-type]
        row = conn.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
        return str(row.fetchone()[0])  # type: ignore[index]


def recreate_database(env: dict[str, str]) -> float:
    """Drop, create, migrate. Returns the migration's seconds."""
    log(f"database {DB_NAME}: drop, create, migrate")
    pg_admin(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
    pg_admin(f"CREATE DATABASE {DB_NAME}")
    return migrate(env)


def migrate(env: dict[str, str]) -> float:
    """Bring the database to this checkout's migrations (a reused one too); its seconds."""
    started = time.monotonic()
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=600,
    )
    seconds = time.monotonic() - started
    log(f"  migrated in {seconds:.1f}s")
    return seconds


def collect_static(env: dict[str, str]) -> None:
    """The HTML pages' stylesheet, as a deployment collects it (manifest storage), into this
    checkout's results folder: a database reused from another checkout has none."""
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=600,
    )


def flush_redis() -> None:
    """The benchmark's own Redis db: throttle state, cached pages, sessions, queued jobs."""
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()


def fresh_like_posts(meta: dict[str, Any]) -> list[int]:
    """Visible posts outside the rows' special threads: (liker, post) pairs never liked."""
    import psycopg

    special = [meta["big_thread"], meta["fan_thread"], meta["quiet_thread"]]
    with psycopg.connect(dbname=DB_NAME, **PG) as conn:  # type: ignore[arg-type]
        rows = conn.execute(
            "SELECT id FROM forum_post WHERE status = 'visible' AND kind <> 'system' "
            "AND thread_id <> ALL(%s) AND id <= %s ORDER BY id",
            [special, meta["last_seeded_post"]],
        ).fetchall()
    return [row[0] for row in rows]


def last_post_id() -> int:
    import psycopg

    with psycopg.connect(dbname=DB_NAME, **PG) as conn:  # type: ignore[arg-type]
        return int(conn.execute("SELECT COALESCE(MAX(id), 0) FROM forum_post").fetchone()[0])  # type: ignore[index]


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
    """One row: a request (or a rotation of requests) measured beside the ceiling."""

    key: str  # stable name the targets refer to
    name: str
    method: str
    path: str
    token: str | None = None
    post: bool = False  # a new reply body with each request
    paths: list[str] = field(default_factory=list)  # requests rotate through these paths
    # Fresh likes: request n likes like_posts[n // len(tokens)] as tokens[n % len(tokens)].
    like_posts: list[int] = field(default_factory=list)
    tokens: list[str] = field(default_factory=list)
    offset: int = 0  # (liker, post) pairs used so far, across samples and runs
    # Measured while HOT_CONNECTIONS connections run this other row (its key) in the background.
    background: str = ""

    def target(self, k: int) -> tuple[str, str | None]:
        """Path and session token of this endpoint's ``k``-th request of a sample."""
        if self.like_posts:
            n = self.offset + k
            index = min(n // len(self.tokens), len(self.like_posts) - 1)
            return f"/api/v1/posts/{self.like_posts[index]}/like/", self.tokens[
                n % len(self.tokens)
            ]
        if self.paths:
            return self.paths[k % len(self.paths)], self.token
        return self.path, self.token

    @property
    def pairs_left(self) -> int:
        return len(self.like_posts) * len(self.tokens) - self.offset if self.like_posts else 0


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
    issued: int = 0  # requests started (some may be cut off at the end)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


WRK_SCRIPT = r"""
local threads = {}
function setup(thread) table.insert(threads, thread) end

wrk.method = "@METHOD@"
wrk.headers["Accept"] = "application/json"
@HEADERS@
function init(args)
  non2xx = 0
  statuses = {}
  counter = 0
  prefix = tostring(math.random(100000, 999999))
end

@REQUEST@

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
    local key = tostring(status)
    statuses[key] = (statuses[key] or 0) + 1
  end
end

function done(summary, latency, requests)
  local non = 0
  local issued = 0
  local codes = {}
  for _, t in ipairs(threads) do
    non = non + t:get("non2xx")
    issued = issued + t:get("counter")
    for k, v in pairs(t:get("statuses")) do codes[k] = (codes[k] or 0) + v end
  end
  local parts = {}
  for k, v in pairs(codes) do table.insert(parts, string.format('"%s": %d', k, v)) end
  local e = summary.errors
  io.write(string.format(
    'WRK_RESULT {"requests": %d, "duration_us": %d, "bytes": %d, "non2xx": %d, '
    .. '"errors": %d, "p50": %d, "p95": %d, "p99": %d, "issued": %d, "statuses": {%s}}\n',
    summary.requests, summary.duration, summary.bytes, non,
    e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), issued,
    table.concat(parts, ", ")))
end
"""

WRK_REQUEST = r"""
local paths = {@PATHS@}
local ids = {@IDS@}
local tokens = {@TOKENS@}
local base = @BASE@
local reply = @REPLY@
function request()
  counter = counter + 1
  local k = counter - 1
  local path = wrk.path
  local headers = {}
  for name, value in pairs(wrk.headers) do headers[name] = value end
  if #ids > 0 then
    local n = base + k
    local i = math.floor(n / #tokens) - math.floor(base / #tokens) + 1
    if i > #ids then i = #ids end
    path = "/api/v1/posts/" .. ids[i] .. "/like/"
    headers["X-Session-Token"] = tokens[n % #tokens + 1]
  elseif #paths > 0 then
    path = paths[k % #paths + 1]
  end
  local body = nil
  if reply then
    body = '{"body": "Benchmark reply ' .. prefix .. '-' .. counter .. '. '
      .. 'Thank you all for the replies, it helps so much to read that others have been '
      .. 'through the same. I am seeing the oncologist again on Thursday and will write down '
      .. 'my questions first, as you suggested. Sending hugs :hugs:"}'
  end
  return wrk.format(nil, path, headers, body)
end
"""

WRK_COUNT = r"""
function request()
  counter = counter + 1
  return wrk.format(nil, nil, nil, nil)
end
"""

REPLY_TEXT = (
    "Benchmark reply {n}. Thank you all for the replies, it helps so much to read that "
    "others have been through the same. I am seeing the oncologist again on Thursday and "
    "will write down my questions first, as you suggested. Sending hugs :hugs:"
)


def _lua_strings(items: list[str]) -> str:
    return ", ".join(json.dumps(x) for x in items)


def wrk_script(endpoint: Endpoint, seconds: float) -> str:
    headers = []
    if endpoint.token:
        headers.append(f'wrk.headers["X-Session-Token"] = "{endpoint.token}"')
    if endpoint.post:
        headers.append('wrk.headers["Content-Type"] = "application/json"')
    if endpoint.like_posts or endpoint.paths or endpoint.post:
        first = endpoint.offset // max(1, len(endpoint.tokens))
        # Enough posts for this sample at 5,000 req/s; past them the last post repeats.
        ids = endpoint.like_posts[
            first : first + int(5_000 * (seconds + 2)) // max(1, len(endpoint.tokens)) + 2
        ]
        request = (
            WRK_REQUEST.replace("@PATHS@", _lua_strings(endpoint.paths))
            .replace("@IDS@", ", ".join(str(i) for i in ids))
            .replace("@TOKENS@", _lua_strings(endpoint.tokens))
            .replace("@BASE@", str(endpoint.offset))
            .replace("@REPLY@", "true" if endpoint.post else "false")
        )
    else:
        request = WRK_COUNT
    return (
        WRK_SCRIPT.replace("@METHOD@", endpoint.method)
        .replace("@HEADERS@", "\n".join(headers))
        .replace("@REQUEST@", request)
    )


def wrk_run(
    endpoint: Endpoint, port: int, concurrency: int, seconds: float, threads: int
) -> Result:
    del threads  # one thread: one Lua state, so request numbers (fresh likes) never repeat
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(wrk_script(endpoint, seconds))
        script_path = handle.name
    try:
        completed = subprocess.run(
            [
                "wrk",
                "-t1",
                f"-c{concurrency}",
                f"-d{max(1, round(seconds))}s",  # wrk takes whole seconds only
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
        issued=data["issued"],
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

    def worker() -> None:
        mine: list[float] = []
        codes: Counter[str] = Counter()
        done = size = errors = 0
        conn: http.client.HTTPConnection | None = None
        while time.monotonic() < deadline:
            k = next(counter)
            path, token = endpoint.target(k)
            headers = {"Accept": "application/json"}
            if token:
                headers["X-Session-Token"] = token
            body = None
            if endpoint.post:
                headers["Content-Type"] = "application/json"
                body = json.dumps({"body": REPLY_TEXT.format(n=k)}).encode()
            started = time.perf_counter()
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(HOST, port, timeout=10)
                conn.request(endpoint.method, path, body=body, headers=headers)
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
        issued=next(counter),
    )


def query_profile(endpoint: Endpoint) -> tuple[int, float]:
    """Queries one request runs and their time (ms), in-process with Django's test client.

    Three requests; the figures of the fastest (caches warm), timed around each execute.
    A like row uses three fresh pairs of its own.
    """
    from django.db import connection
    from django.test import Client

    client = Client(HTTP_HOST=HOST)
    best: tuple[int, float] = (0, float("inf"))
    for n in range(3):
        timings: list[float] = []
        path, token = endpoint.target(0)
        if endpoint.like_posts:
            endpoint.offset += 1
        headers: dict[str, Any] = {"HTTP_X_SESSION_TOKEN": token} if token else {}

        def timed(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
            started = time.perf_counter()
            try:
                return execute(sql, params, many, context)
            finally:
                timings.append(time.perf_counter() - started)  # noqa: B023 (used at once)

        with connection.execute_wrapper(timed):
            if endpoint.post:
                response = client.post(
                    path,
                    data={"body": REPLY_TEXT.format(n=f"profile-{n}")},
                    content_type="application/json",
                    **headers,
                )
            elif endpoint.method == "POST":
                response = client.post(path, **headers)
            else:
                response = client.get(path, **headers)
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
            # gunicorn's workers, and our own children (a background load of the hot rows)
            if fields and int(fields[1]) in (self.master_pid, os.getpid()):
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

    def wait_for_idle_server(self, deadline: float) -> None:
        """Wait, at most until ``deadline``, for the last sample's requests to finish.

        wrk stops at the end of a sample, but the server finishes the requests it already
        took (a slow reply holding a thread lock, say): the next sample must not inherit
        them. The workers' database sessions are busy while a request runs.
        """
        told = False
        while time.monotonic() < deadline:
            busy = self.conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s "
                "AND backend_type = 'client backend' AND pid <> pg_backend_pid() "
                "AND state <> 'idle'",
                [DB_NAME],
            ).fetchone()
            if not busy or not busy[0]:
                return
            if not told:
                log(f"    waiting for {busy[0]} request(s) left from the last sample")
                told = True
            time.sleep(0.2)

    def close(self) -> None:
        self.conn.close()


def _git(*args: str) -> str | None:
    """What ``git <args>`` prints in this checkout, or None when git cannot say."""
    try:
        out = subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


def git_commit() -> str:
    return _git("rev-parse", "--short", "HEAD") or "unknown"


def log_problems(log_path: Path) -> list[str]:
    """Tracebacks and errors gunicorn's workers wrote during the run."""
    text = log_path.read_text(errors="replace")
    problems = [line for line in text.splitlines() if "Traceback" in line or " ERROR " in line[:60]]
    return problems[:20]


def git_dirty() -> bool:
    return bool(_git("status", "--porcelain", "--untracked-files=no"))


def row_dict(m: Measured, ceiling: float, profile: dict[str, tuple[int, float]]) -> dict[str, Any]:
    sample = m.reported
    r = sample.result
    queries, sql_ms = profile.get(m.endpoint.key, (0, 0.0))
    # No answer within the sample: its latencies are at least the sample's length.
    floor = r.seconds * 1000 if r.requests == 0 else 0.0
    return {
        "key": m.endpoint.key,
        "name": m.endpoint.name,
        "rps": round(r.rps, 1),
        "p50": round(max(r.p50, floor), 2),
        "p95": round(max(r.p95, floor), 2),
        "p99": round(max(r.p99, floor), 2),
        "unanswered": r.requests == 0,
        "vs_ceiling": round(r.rps / ceiling, 3) if ceiling else 0.0,
        "non2xx": m.non2xx,
        "statuses": m.statuses,
        "errors": sum(x.result.errors for x in m.samples),
        "clean_rps": [round(x.result.rps) for x in m.clean],
        "clean": sample.clean,
        "kb_per_response": round(r.bytes_per_response / 1024, 1),
        "queries": queries,
        "sql_ms": round(sql_ms, 2),
        "busy": round(sample.busy),
        "others": round(sample.others),
    }


def machine() -> dict[str, Any]:
    model = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    ram = 0.0
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram = int(line.split()[1]) / 1024 / 1024
    wrk = "none"
    if shutil.which("wrk"):
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run(["wrk", "--version"], capture_output=True, text=True, timeout=5)
            wrk = (out.stdout or out.stderr).split("[")[0].strip() or "wrk"
    return {"cores": os.cpu_count(), "ram_gb": round(ram, 1), "cpu": model, "wrk": wrk}


# --- Main ---------------------------------------------------------------------------------


def int_list(text: str) -> list[int]:
    return [int(x.replace("_", "")) for x in text.split(",") if x.strip()]


# Every row's key, in the tables' order: ``build_endpoints`` makes exactly these, and
# ``--only`` is checked against them before anything starts.
ROW_KEYS = (
    "ceiling",
    "posts_anon",
    "posts_signed",
    "deep_anon",
    "threads_anon",
    "threads_signed",
    "search_rare",
    "search_common",
    "html_thread",
    "reply",
    "like",
    "reply_fan",
    "reply_quiet",
    "hot_read",
    "hot_reply",
    "control_read",
    "control_reply",
)


def parse_only(text: str) -> list[str]:
    """``--only``'s rows: known keys (``ROW_KEYS``), comma-separated; anything else refused."""
    keys = [key.strip() for key in text.split(",")]
    unknown = [key for key in keys if key not in ROW_KEYS]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown row(s) {', '.join(map(repr, unknown))}; rows: {', '.join(ROW_KEYS)}"
        )
    return keys


def rows_measured(endpoints: list[Endpoint], only: list[str] | None) -> list[Endpoint]:
    """The rows a run measures: every one, or the ceiling and those ``--only`` names."""
    if not only:
        return list(endpoints)
    return [e for e in endpoints if e.key in ("ceiling", *only)]


def rows_needed(endpoints: list[Endpoint], measured: list[Endpoint]) -> list[Endpoint]:
    """The measured rows and the rows they load in the background (checked before the run)."""
    keys = {e.key for e in measured} | {e.background for e in measured if e.background}
    return [e for e in endpoints if e.key in keys]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument(
        "--posts", type=int_list, default=[1000], help="posts to seed; a comma list runs each size"
    )
    parser.add_argument("--duration", type=float, default=10, help="seconds per measurement")
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="clean samples wanted per row, taken in interleaved rounds; median reported",
    )
    parser.add_argument(
        "--warmup", type=float, default=2, help="unmeasured seconds per row, first round"
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
        help="seconds of load per configuration after which no new round starts (default 1200)",
    )
    parser.add_argument(
        "--connections", type=int_list, default=[1, 8], help="connection counts (default 1,8)"
    )
    parser.add_argument(
        "--workers", type=int_list, default=[1, 2], help="gunicorn sync worker counts (default 1,2)"
    )
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--db", default=DB_PREFIX, help="database name prefix: <db>_<posts>")
    parser.add_argument("--redis-url", default=REDIS_URL, help="the benchmark's own Redis db")
    parser.add_argument(
        "--followers", type=int, default=None, help="the fan thread's followers (default: by size)"
    )
    parser.add_argument(
        "--deep-hops", type=int, default=200, help="next links followed to the deep page"
    )
    parser.add_argument("--seed", type=int, default=2026, help="random seed of the data")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="keep an existing database seeded with the same --posts (no re-seed)",
    )
    parser.add_argument(
        "--seed-only", action="store_true", help="seed (or reuse) and stop: no load"
    )
    parser.add_argument("--drop", action="store_true", help="drop the databases at the end")
    parser.add_argument(
        "--fanout", action="store_true", help="also time the fan-out (bench/fanout.py)"
    )
    parser.add_argument(
        "--write-results", action="store_true", help="write bench/RESULTS.md from this run"
    )
    parser.add_argument(
        "--python-client", action="store_true", help="use the Python load generator, not wrk"
    )
    parser.add_argument(
        "--only",
        type=parse_only,
        default=None,
        help="measure only these rows (keys, e.g. hot_read,control_read), beside the ceiling",
    )
    args = parser.parse_args(argv)
    if args.only and args.write_results:
        parser.error("--only measures part of the tables: RESULTS.md keeps whole runs")
    return args


def use_database(name: str) -> None:
    """Point this process's Django connection (seeding, profiles) at ``name``."""
    from django.db import connections

    connections.close_all()
    connections["default"].settings_dict["NAME"] = name


def sign_in_all(port: int, emails: list[str]) -> list[str]:
    """Sessions for these members, two sign-ins at a time (each checks a password hash)."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        return list(pool.map(lambda email: sign_in(port, email), emails))


def build_endpoints(
    port: int, meta: dict[str, Any], token: str, likers: list[str], like_posts: list[int],
    hops: int,
) -> tuple[list[Endpoint], int]:  # fmt: skip
    big, fan, quiet = meta["big_thread"], meta["fan_thread"], meta["quiet_thread"]
    deep_path, deep_page = deep_posts_path(port, big, hops)
    posts_path = f"/api/v1/threads/{big}/posts/"
    replies = [f"/api/v1/threads/{t}/posts/" for t in meta["reply_threads"]]
    rare = urllib.parse.quote(meta["rare_word"].lower())
    followers = meta["fan_followers"]
    endpoints = [
        Endpoint("ceiling", "GET /bench/ceiling/ (the ceiling)", "GET", "/bench/ceiling/"),
        Endpoint("posts_anon", "posts page 1 (anonymous)", "GET", posts_path),
        Endpoint("posts_signed", "posts page 1 (signed in)", "GET", posts_path, token=token),
        Endpoint("deep_anon", f"posts page {deep_page}, deep (anonymous)", "GET", deep_path),
        Endpoint("threads_anon", "thread list (anonymous)", "GET", "/api/v1/threads/"),
        Endpoint(
            "threads_signed", "thread list (signed in)", "GET", "/api/v1/threads/", token=token
        ),
        Endpoint(
            "search_rare", f"search '{rare}' (rare word)", "GET", f"/api/v1/threads/?q={rare}"
        ),
        Endpoint(
            "search_common",
            f"search '{COMMON_QUERY}' (in most threads)",
            "GET",
            f"/api/v1/threads/?q={COMMON_QUERY}",
        ),
        Endpoint("html_thread", "thread page, HTML (anonymous)", "GET", f"/t/{big}/"),
        Endpoint(
            "reply",
            f"reply (spread over {len(replies)} threads)",
            "POST",
            replies[0],
            token=token,
            post=True,
            paths=replies,
        ),
        Endpoint(
            "like",
            f"like (fresh post each, {len(likers)} members)",
            "POST",
            "/api/v1/posts/0/like/",
            like_posts=like_posts,
            tokens=likers,
            offset=int(meta.get("like_offset", 0)),
        ),
        Endpoint(
            "reply_fan",
            f"reply to the thread with {followers:,} followers",
            "POST",
            f"/api/v1/threads/{fan}/posts/",
            token=token,
            post=True,
        ),
        Endpoint(
            "reply_quiet",
            "reply to its twin with 1 follower",
            "POST",
            f"/api/v1/threads/{quiet}/posts/",
            token=token,
            post=True,
        ),
    ]
    # The hot thread: reads and replies of other threads while ten replies at once go to the
    # fan thread, and the same while ten replies at once go to ordinary threads (the control:
    # with sync workers, any ten busy connections make a request wait its turn).
    for key, label in (("reply_fan", "hit the fan thread"), ("reply", "go to other threads")):
        tag = "hot" if key == "reply_fan" else "control"
        endpoints += [
            Endpoint(
                f"{tag}_read",
                f"posts page 1 (anonymous), while {HOT_CONNECTIONS} replies {label}",
                "GET",
                posts_path,
                background=key,
            ),
            Endpoint(
                f"{tag}_reply",
                f"reply (spread), while {HOT_CONNECTIONS} replies {label}",
                "POST",
                replies[0],
                token=token,
                post=True,
                paths=replies,
                background=key,
            ),
        ]
    assert tuple(e.key for e in endpoints) == ROW_KEYS, "ROW_KEYS: every row, in order"
    return endpoints, deep_page


def measure_config(
    args: argparse.Namespace,
    endpoints: list[Endpoint],
    process: Any,
    concurrency: int,
) -> list[Measured]:
    """Every row at one connection count, in interleaved rounds until each has clean samples."""
    use_wrk = shutil.which("wrk") is not None and not args.python_client
    run_load = wrk_run if use_wrk else python_run
    shown = rows_measured(endpoints, args.only)
    measured = [Measured(endpoint) for endpoint in shown]
    by_key = {endpoint.key: endpoint for endpoint in endpoints}
    meter = CpuMeter(process.pid, args.max_others)
    give_up = time.monotonic() + args.time_limit

    def sample(endpoint: Endpoint, seconds: float) -> Result:
        background = None
        hot: list[Result] = []
        if endpoint.background:
            load = by_key[endpoint.background]
            background = threading.Thread(
                target=lambda: hot.append(
                    run_load(load, args.port, HOT_CONNECTIONS, seconds + 2, 1)
                ),
                daemon=True,
            )
            background.start()
            time.sleep(0.5)
        meter.start()
        result = run_load(endpoint, args.port, concurrency, seconds, 1)
        if endpoint.like_posts:
            endpoint.offset += result.issued
            if endpoint.pairs_left <= 0:
                log("    the like row ran out of fresh (member, post) pairs: later likes repeat")
        if background is not None:
            background.join()
            if not hot:
                raise RuntimeError(f"{endpoint.name}: the background replies did not run")
            log(
                f"    meanwhile: {hot[0].rps:,.1f} replies/s, p50 {hot[0].p50:.0f} ms, "
                f"non-2xx {hot[0].non2xx}"
            )
        return result

    try:
        for round_no in range(1, args.rounds * args.attempts + 1):
            todo = [m for m in measured if len(m.clean) < args.rounds]
            if not todo or (round_no > 1 and time.monotonic() > give_up):
                break
            for m in todo:
                if round_no == 1 and args.warmup > 0:
                    meter.wait_for_idle_server(time.monotonic() + 120)
                    sample(m.endpoint, args.warmup)
                meter.wait_for_idle_server(time.monotonic() + 120)
                meter.wait_for_quiet(min(give_up, time.monotonic() + 60))
                result = sample(m.endpoint, args.duration)
                busy, others = meter.stop()
                clean = others <= args.max_others
                m.samples.append(Sample(result, busy, others, clean))
                log(
                    f"  [{round_no}] {m.endpoint.name[:52]:<52} {result.rps:7,.0f} req/s  "
                    f"p50 {result.p50:6.1f} ms  p99 {result.p99:6.1f} ms  "
                    f"non-2xx {result.non2xx}  others {others:3.0f}%"
                    + ("" if clean else "  (disturbed: not counted)")
                )
    finally:
        meter.close()
    return measured


def run_size(args: argparse.Namespace, posts: int, stamp: str, secret: str) -> dict[str, Any]:
    """Seed (or reuse) one size and measure it in every configuration; its results."""
    import django

    global DB_NAME
    DB_NAME = f"{args.db}_{posts}"
    # One secret key for the server and this process (whose profiles sign requests in): a
    # session checked under another key is flushed, signing the benchmark's members out.
    env = server_env(args.port, secret)
    os.environ.update(env)
    django.setup()
    use_database(DB_NAME)

    meta = bench_meta() if args.reuse else None
    migrate_seconds = None
    if meta is not None and meta.get("requested") == posts and seeded_now(meta):
        log(f"reusing {DB_NAME} seeded at {meta['seeded_at']} ({posts:,} posts)")
        migrate(env)
    else:
        from bench.seed import seed

        migrate_seconds = recreate_database(env)
        use_database(DB_NAME)
        meta = seed(posts=posts, seed_value=args.seed, followers=args.followers)
        bench_meta_update(requested=posts, last_seeded_post=last_post_id(), size=database_size())
        meta = bench_meta()
        assert meta is not None
    result: dict[str, Any] = {
        "posts": posts,
        "database": DB_NAME,
        "meta": {k: v for k, v in meta.items() if k not in ("reply_threads", "liker_emails")},
        "migrate_seconds": migrate_seconds,
        "reused": migrate_seconds is None,
        "configs": [],
    }
    if args.seed_only:
        return result
    collect_static(env)
    flush_redis()
    result["size_before"] = database_size()

    log_path = RESULTS / f"{stamp}-{posts}-gunicorn.log"
    result["gunicorn_log"] = log_path.name
    endpoints: list[Endpoint] = []
    measured_rows: list[Endpoint] = []  # the rows measured: every one, or --only's
    profile: dict[str, tuple[int, float]] = {}
    like_row: Endpoint | None = None
    try:
        for workers in args.workers:
            process = start_gunicorn(env, args.port, workers, log_path)
            try:
                if not endpoints:
                    token = sign_in(args.port, meta["member_email"])
                    likers = sign_in_all(args.port, meta["liker_emails"])
                    endpoints, deep_page = build_endpoints(
                        args.port, meta, token, likers, fresh_like_posts(meta), args.deep_hops
                    )
                    result["deep_page"] = deep_page
                    like_row = next(e for e in endpoints if e.key == "like")
                    measured_rows = rows_measured(endpoints, args.only)
                    # Only what this run loads is checked (a check posts a reply) and only
                    # what it measures is profiled.
                    for endpoint in rows_needed(endpoints, measured_rows):
                        path, token_k = endpoint.target(0)
                        if not endpoint.like_posts:
                            status, _, _ = http_request(
                                args.port,
                                endpoint.method,
                                path,
                                body={"body": REPLY_TEXT.format(n="check")}
                                if endpoint.post
                                else None,
                                headers={"X-Session-Token": token_k} if token_k else None,
                            )
                            if not 200 <= status <= 299:
                                log(f"  warning: {endpoint.name} answered {status} before the run")
                        measured_here = endpoint.key in {e.key for e in measured_rows}
                        if measured_here and endpoint.key not in profile:
                            profile[endpoint.key] = query_profile(endpoint)
                    # A signed-out token reads as anonymous: the signed-in rows would lie.
                    for check in (token, *likers):
                        status, _, _ = http_request(
                            args.port,
                            "GET",
                            "/_allauth/app/v1/auth/session",
                            headers={"X-Session-Token": check},
                        )
                        if status != 200:
                            raise SystemExit(f"a benchmark session was signed out ({status})")
                for concurrency in args.connections:
                    log(
                        f"{posts:,} posts, {workers} worker(s), {concurrency} connection(s): "
                        f"{len(measured_rows)} rows, {args.rounds} round(s) of "
                        f"{args.duration:g}s"
                    )
                    measured = measure_config(args, endpoints, process, concurrency)
                    ceiling = measured[0].reported.result.rps
                    rows = [row_dict(m, ceiling, profile) for m in measured]
                    result["configs"].append(
                        {"workers": workers, "connections": concurrency, "rows": rows}
                    )
            finally:
                stop_gunicorn(process)
                log("gunicorn stopped")
    finally:
        if like_row is not None:
            bench_meta_update(like_offset=like_row.offset)
    result["problems"] = log_problems(log_path)
    if args.fanout:
        from bench.fanout import measure

        result["fanout"] = measure(meta)
    return result


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    global REDIS_URL
    REDIS_URL = args.redis_url
    if args.port == 8000:
        raise SystemExit("port 8000 belongs to the dev server; pick another")
    if not port_free(args.port):
        raise SystemExit(f"{HOST}:{args.port} is already in use")
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")  # noqa: DTZ005 (a local file name)
    run: dict[str, Any] = {
        "stamp": stamp,
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": git_commit(),  # now: the code gunicorn loads, not what lands during the run
        "dirty": git_dirty(),
        "command": shlex.join([".venv/bin/python", "bench/run.py", *(argv or sys.argv[1:])]),
        "machine": machine(),
        "options": {
            "duration": args.duration,
            "rounds": args.rounds,
            "workers": args.workers,
            "connections": args.connections,
            "tool": "wrk" if shutil.which("wrk") and not args.python_client else "python",
        },
        "sizes": [],
    }
    secret = secrets.token_urlsafe(48)  # per run; settings are read once per process
    for posts in args.posts:
        run["sizes"].append(run_size(args, posts, stamp, secret))
    sizes = "-".join(str(p) for p in args.posts)
    (RESULTS / f"{stamp}-{sizes}.json").write_text(json.dumps(run, indent=1))
    from bench.report import render_results

    report = render_results(run, RESULTS)
    out = RESULTS / f"{stamp}-{sizes}.md"
    out.write_text(report)
    print(report)
    log(f"written to {out}")
    if args.write_results and not args.seed_only:
        (ROOT / "bench" / "RESULTS.md").write_text(report)
        log("written to bench/RESULTS.md")
    if args.drop:
        from django.db import connections

        connections.close_all()
        for posts in args.posts:
            pg_admin(f"DROP DATABASE IF EXISTS {args.db}_{posts} WITH (FORCE)")
        log("dropped the databases")
    return 0


if __name__ == "__main__":
    sys.exit(main())
