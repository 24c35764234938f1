"""Real servers a test starts on free loopback ports, and stops: never anyone else's.

A private Redis (to stop and start again), an SMTP sink that records every Message-ID, and
Django processes (a Celery worker or beat, gunicorn) run with the test settings against the
test database, the private Redis and the sink; and an HTTP client that times each request.
"""

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Any, NamedTuple

import redis
from aiosmtpd.controller import Controller
from django.conf import settings
from django.db import connection

from config.celery import app as celery_app
from tests.utils import closed_port, wait_until

BASE_DIR = Path(settings.BASE_DIR)


class RedisServer:
    """A redis-server of the test's own, on a free port; stopped and started at will."""

    def __init__(self, log_dir: Path) -> None:
        self.port = closed_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.log = log_dir / f"redis-{self.port}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--logfile",
                str(self.log),
            ]
        )
        client = redis.Redis.from_url(self.url)
        try:
            assert wait_until(lambda: _answers(client), timeout=10), "redis did not start"
        finally:
            client.close()

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


def _answers(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.ConnectionError:
        return False


class SmtpSink:
    """A local mail server that accepts everything and records each message's Message-ID.

    ``delay`` holds each message between receiving its data and answering 250, as a real
    server does while it queues: a worker killed then has sent a message it never marked.
    """

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.message_ids: list[str] = []
        self.messages: list[bytes] = []
        self._lock = threading.Lock()
        self.controller = Controller(self, hostname="127.0.0.1", port=closed_port())
        self.url = f"smtp://127.0.0.1:{self.controller.port}"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        headers = BytesHeaderParser().parsebytes(envelope.content)
        with self._lock:
            self.message_ids.append(headers["Message-ID"])
            self.messages.append(envelope.content)
        if self.delay:
            await asyncio.sleep(self.delay)
        return "250 Message accepted for delivery"

    def count(self) -> int:
        with self._lock:
            return len(self.message_ids)

    def copies(self) -> Counter[str]:
        with self._lock:
            return Counter(self.message_ids)

    def __enter__(self) -> "SmtpSink":
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()


def run_database_url() -> str:
    """The database pytest-django created for this run: the subprocesses share its rows."""
    db = connection.settings_dict
    return f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def django_env(*, redis_url: str, email_url: str | None = None, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": run_database_url(),
        "REDIS_URL": redis_url,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "PYTHONUNBUFFERED": "1",
        **extra,
    }
    if email_url:
        env["EMAIL_URL"] = email_url
    return env


class DjangoProcess:
    """A Django command (worker, beat, gunicorn) in a subprocess, its output in a log file."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                args, env=env, cwd=BASE_DIR, stdout=out, stderr=subprocess.STDOUT
            )

    @property
    def pid(self) -> int:
        return self.process.pid

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL: no clean-up, no acknowledgement, whatever it was doing."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


def celery_process(args: list[str], env: dict[str, str], log: Path) -> DjangoProcess:
    command = [sys.executable, "-m", "celery", "-A", "config", *args, "--loglevel", "INFO"]
    return DjangoProcess(command, env, log)


def celery_worker_process(env: dict[str, str], log: Path) -> DjangoProcess:
    return celery_process(
        ["worker", "--pool", "solo", "--without-gossip", "--without-mingle", "--without-heartbeat"],
        env,
        log,
    )


@contextmanager
def publishing_to(broker_url: str) -> Iterator[None]:
    """The test process publishes its jobs to ``broker_url`` (not eagerly) meanwhile."""
    conf = celery_app.conf
    saved = conf.broker_url, conf.task_always_eager, celery_app._pool
    producers = celery_app.amqp._producer_pool
    conf.broker_url, conf.task_always_eager = broker_url, False
    celery_app._pool, celery_app.amqp._producer_pool = None, None
    try:
        yield
    finally:
        if celery_app._pool is not None:
            celery_app._pool.force_close_all()
        conf.broker_url, conf.task_always_eager, celery_app._pool = saved
        celery_app.amqp._producer_pool = producers


def wait_for(predicate: Any, timeout: float, what: str) -> None:
    started = time.monotonic()
    if not wait_until(predicate, timeout=timeout):
        raise AssertionError(f"{what}: not after {time.monotonic() - started:.0f} s")


def gunicorn_process(env: dict[str, str], log: Path) -> tuple[DjangoProcess, str]:
    """gunicorn serving Haven with one sync worker, as production runs it; returns its URL."""
    port = closed_port()
    server = DjangoProcess(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--access-logfile",
            "-",
        ],
        env,
        log,
    )
    base = f"http://127.0.0.1:{port}"
    wait_for(lambda: _listening(port), 30, "gunicorn listening")
    return server, base


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


class Reply(NamedTuple):
    status: int
    headers: Any
    body: Any
    seconds: float


def http(
    method: str, url: str, payload: Any = None, *, token: str | None = None, timeout: float = 10
) -> Reply:
    """One HTTP request as a client makes it; JSON in and (when JSON) out, and how long it took."""
    data = None if payload is None else json.dumps(payload).encode()
    request = urllib.request.Request(url, data=data, method=method)  # noqa: S310 (loopback)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("X-Session-Token", token)
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            status, headers, raw = response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        status, headers, raw = error.code, error.headers, error.read()
    seconds = time.perf_counter() - started
    body: Any = raw.decode(errors="replace")
    if headers.get("Content-Type", "").startswith("application/json"):
        body = json.loads(raw)
    return Reply(status, headers, body, seconds)
