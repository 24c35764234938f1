"""Redis or PostgreSQL going away, in-process: degrade with Redis, 503 without the database.

tests/config/test_outage_live.py does the same against gunicorn with a Redis it stops.
"""

import logging
import select
import statistics
import time
from collections.abc import Iterator
from typing import NamedTuple

import psycopg
import pytest
import redis
from django.db import close_old_connections, connection
from django.db.backends.postgresql import base as django_postgresql
from rest_framework.test import APIClient

from config.settings.base import redis_cache
from core.logging import OncePerInterval
from tests.factories import PASSWORD, UserFactory
from tests.utils import blackholed_port, closed_port, token_client, wait_until

LOGIN = "/_allauth/app/v1/auth/login"


@pytest.fixture
def cache_warnings(caplog) -> Iterator[pytest.LogCaptureFixture]:
    """What core.cache logs, its once-a-minute filter starting afresh."""
    for log_filter in logging.getLogger("core.cache").filters:
        if isinstance(log_filter, OncePerInterval):
            log_filter.__init__(log_filter.seconds)  # type: ignore[misc]
    caplog.set_level(logging.WARNING, logger="core.cache")
    yield caplog


class DeadCache(NamedTuple):
    kind: str
    caches: dict  # the CACHES setting, for a test that needs the live cache first


@pytest.fixture(params=["refused", "black-holed"])
def dead_cache(request, settings) -> Iterator[DeadCache]:
    """Redis as a cache, unreachable: nothing listens, or connections hang."""
    if request.param == "refused":
        settings.CACHES = {"default": redis_cache(f"redis://127.0.0.1:{closed_port()}/0", "t")}
        yield DeadCache(request.param, settings.CACHES)
    else:
        with blackholed_port() as port:
            settings.CACHES = {"default": redis_cache(f"redis://127.0.0.1:{port}/0", "t")}
            yield DeadCache(request.param, settings.CACHES)


def timed(call, *args, **kwargs):
    started = time.perf_counter()
    response = call(*args, **kwargs)
    return response, time.perf_counter() - started


# Waiting on a dead Redis cost every request 0.9 s (refused) to 2 s (black-holed) before the
# 50 ms connect timeout and the fail-fast window. A request through a dead cache must stay
# far below that: typically ~20 ms, at most FAST even when the loaded test machine (2 cores,
# a garbage collection late in the suite) stalls the one request.
TYPICAL = 0.2
FAST = 0.8


def assert_fast(elapsed: list[float]) -> None:
    assert max(elapsed) < FAST, elapsed
    assert statistics.median(elapsed) < TYPICAL, elapsed


@pytest.mark.django_db
def test_a_cache_outage_serves_sessions_from_the_database(settings, dead_cache, cache_warnings):
    member = UserFactory(display_name="Sparrowhawk")
    settings.CACHES = {"default": redis_cache(settings.REDIS_URL, "haven-test")}
    client = token_client(member)  # the session is written to Redis and to the database
    settings.CACHES = dead_cache.caches  # refused, or hanging: the fixture's, not another

    response, elapsed = timed(client.get, "/api/v1/me/")
    assert response.status_code == 200
    assert response.json()["display_name"] == "Sparrowhawk"
    assert elapsed < FAST
    anonymous, elapsed = timed(APIClient().get, "/api/v1/threads/")
    assert anonymous.status_code == 200
    assert elapsed < FAST
    # Said once, as a warning, however many calls failed: what this outage looks like.
    records = [r for r in cache_warnings.records if r.name == "core.cache"]
    assert len(records) == 1
    assert records[0].levelname == "WARNING"
    failure = {"refused": redis.ConnectionError, "black-holed": redis.TimeoutError}
    assert type(records[0].exc_info[1].__cause__) is failure[dead_cache.kind]


@pytest.mark.django_db
def test_throttles_fail_open_while_the_cache_is_down(settings, dead_cache, cache_warnings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "anon": "2/min",
        },
    }
    statuses, elapsed = [], []
    for _ in range(5):
        response, took = timed(APIClient().get, "/api/v1/categories/")
        statuses.append(response.status_code)
        elapsed.append(took)
    assert statuses == [200] * 5
    assert_fast(elapsed)
    assert [r.levelname for r in cache_warnings.records if r.name == "core.cache"] == ["WARNING"]

    # With Redis back, the same rate throttles again.
    settings.CACHES = {"default": redis_cache(settings.REDIS_URL, "haven-test")}
    assert [APIClient().get("/api/v1/categories/").status_code for _ in range(3)] == [200, 200, 429]


@pytest.mark.django_db
def test_allauth_rate_limits_fail_open_and_fast_while_the_cache_is_down(dead_cache):
    """allauth locks each rate limit with cache.add: a lock that never comes meant 1 s and 429."""
    user = UserFactory()
    client = APIClient()
    elapsed = []
    for _ in range(7):
        response, took = timed(
            client.post, LOGIN, {"email": user.email, "password": "wrong-password"}, format="json"
        )
        assert response.status_code == 400
        assert "too_many_login_attempts" not in str(response.json())
        elapsed.append(took)
    response, took = timed(
        client.post, LOGIN, {"email": user.email, "password": PASSWORD}, format="json"
    )
    assert response.status_code == 200
    assert_fast([*elapsed, took])


def test_the_warning_filter_lets_one_record_a_minute_through_with_a_count():
    once = OncePerInterval(seconds=60)

    def record() -> logging.LogRecord:
        return logging.LogRecord("core.cache", logging.ERROR, "f", 1, "Exception ignored", (), None)

    records = [record() for _ in range(4)]
    assert [once.filter(r) for r in records] == [True, False, False, False]
    assert records[0].levelname == "WARNING"
    once._last = {key: value - 61 for key, value in once._last.items()}  # a minute later
    later = record()
    assert once.filter(later)
    assert later.getMessage() == "Exception ignored (and 3 more in the last 60 s)"


# --- The database going away --------------------------------------------------------------


@pytest.fixture
def database_down(transactional_db) -> Iterator[None]:
    """PostgreSQL on a port where nothing listens, for this test's requests."""
    port = connection.settings_dict["PORT"]
    connection.close()
    connection.settings_dict["PORT"] = closed_port()
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict["PORT"] = port


def outside() -> APIClient:
    """A client that gets the response a real one would, not the server's exception."""
    return APIClient(raise_request_exception=False)


def assert_503_json(response) -> None:
    assert response.status_code == 503, response.content
    assert response["Retry-After"] == "30"
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "service_unavailable"


@pytest.fixture
def signed_in(transactional_db):
    user = UserFactory()
    app = token_client(user)
    app.raise_request_exception = False
    browser = outside()
    browser.force_login(user)  # a browser session cookie, kept in the database
    return app, browser


def test_an_unreachable_database_answers_503_with_retry_after(signed_in, settings, request):
    app, browser = signed_in
    settings.CACHES = {"default": redis_cache(f"redis://127.0.0.1:{closed_port()}/0", "t")}
    request.getfixturevalue("database_down")

    assert_503_json(outside().get("/api/v1/threads/"))
    assert_503_json(app.get("/api/v1/me/"))
    assert_503_json(browser.get("/api/v1/me/"))
    assert_503_json(
        outside().post(LOGIN, {"email": "a@haven.test", "password": "x"}, format="json")
    )
    page = browser.get(f"/{settings.ADMIN_URL}")  # a page: who is signed in needs the database
    assert page.status_code == 503
    assert page["Retry-After"] == "30"
    assert page["Content-Type"].startswith("text/plain")


def test_a_database_failure_in_a_middleware_before_the_view_is_a_503(signed_in, settings, request):
    """Django's LoginRequiredMiddleware loads the signed-in user before any view runs."""
    _, browser = signed_in
    settings.MIDDLEWARE = [
        *settings.MIDDLEWARE,
        "django.contrib.auth.middleware.LoginRequiredMiddleware",
    ]
    request.getfixturevalue("database_down")
    assert_503_json(browser.get("/api/v1/categories/"))


@pytest.mark.django_db(transaction=True)
def test_a_database_host_that_never_answers_is_a_503_within_seconds():
    """Packets dropped: the connect timeout, not the operating system's minutes, decides."""
    port = connection.settings_dict["PORT"]
    connection.close()
    with blackholed_port() as hanging:
        connection.settings_dict["PORT"] = hanging
        try:
            started = time.perf_counter()
            response = outside().get("/api/v1/threads/")
            elapsed = time.perf_counter() - started
        finally:
            connection.close()
            connection.settings_dict["PORT"] = port
    assert_503_json(response)
    assert elapsed < 5


@pytest.mark.parametrize(
    ("sqlstate", "status"),
    [
        pytest.param("40P01", 500, id="deadlock"),
        pytest.param("40001", 500, id="serialization-failure"),
        pytest.param("57014", 500, id="statement-timeout"),
        pytest.param("57P01", 503, id="admin-shutdown"),
        pytest.param("57P03", 503, id="starting-up"),
        pytest.param("08006", 503, id="connection-failure"),
    ],
)
@pytest.mark.django_db
def test_only_a_database_that_cannot_be_reached_is_a_503(monkeypatch, caplog, sqlstate, status):
    """Each error raised by PostgreSQL itself, in a view, through psycopg and Django.

    All of them are Django OperationalErrors; a deadlock's loser is a lock-order bug, a
    500 in the logs, never an outage's 503.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE FUNCTION pg_temp.fail(code text) RETURNS void LANGUAGE plpgsql "
            "AS $$ BEGIN RAISE EXCEPTION 'injected' USING ERRCODE = code; END $$"
        )

    def failing():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_temp.fail(%s)", [sqlstate])

    monkeypatch.setattr("forum.selectors.category_list", failing)
    response = outside().get("/api/v1/categories/")
    assert response.status_code == status, response.content
    assert response.json()["code"] == {500: "server_error", 503: "service_unavailable"}[status]
    assert ("Retry-After" in response) == (status == 503)
    [logged] = [r for r in caplog.records if r.name == "django.request"]
    assert logged.levelname == "ERROR"
    assert logged.exc_info[1].__cause__.sqlstate == sqlstate


# --- PostgreSQL restarting under kept connections -------------------------------------------


def _end_backend(pid: int) -> None:
    """What a PostgreSQL restart does to a connection: the server ends it (57P01)."""
    db = connection.settings_dict
    with psycopg.connect(
        host=db["HOST"],
        port=db["PORT"],
        user=db["USER"],
        password=db["PASSWORD"],
        dbname=db["NAME"],
        autocommit=True,
    ) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])


def _ended(pid: int) -> bool:
    poller = select.poll()
    poller.register(connection.connection.fileno(), select.POLLIN)
    return bool(poller.poll(0))


@pytest.fixture
def kept_connections(transactional_db) -> Iterator[None]:
    """Connections kept across requests as in production (the suite's own settings close
    them after each), Django's request cycle closing or checking them as its handler does."""
    connection.close()
    saved = {k: connection.settings_dict[k] for k in ("CONN_MAX_AGE", "CONN_HEALTH_CHECKS")}
    connection.settings_dict["CONN_MAX_AGE"] = 600
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.update(saved)


def request_cycle(client: APIClient, path: str):
    """One request as a real server makes it: ``request_started`` first (Django's test
    client leaves close_old_connections out, which is what runs the health check)."""
    close_old_connections()
    try:
        return client.get(path)
    finally:
        close_old_connections()


@pytest.mark.parametrize("health_checks", [True, False])
def test_a_restarted_database_does_not_fail_the_next_request(kept_connections, health_checks):
    """With health checks (core.database's) the ended connection is replaced unseen;
    without them the next request is a 503: the guarantee is theirs."""
    connection.settings_dict["CONN_HEALTH_CHECKS"] = health_checks
    member = UserFactory()
    browser = outside()
    browser.force_login(member)
    assert request_cycle(browser, "/api/v1/me/").status_code == 200
    pid = connection.connection.info.backend_pid
    _end_backend(pid)
    assert wait_until(lambda: _ended(pid), timeout=5)
    response = request_cycle(browser, "/api/v1/me/")
    if health_checks:
        assert response.status_code == 200, response.content
        assert connection.connection.info.backend_pid != pid  # a new connection
    else:
        assert_503_json(response)


def test_a_sound_kept_connection_is_checked_without_a_round_trip(kept_connections, monkeypatch):
    """Django's check sends SELECT 1 before every request (~0.26 ms); core.database's asks
    the socket, and sends SELECT 1 only when the server may have ended the connection."""
    connection.settings_dict["CONN_HEALTH_CHECKS"] = True
    selects = []
    select_one = django_postgresql.DatabaseWrapper.is_usable

    def counting(self):  # type: ignore[no-untyped-def]
        selects.append(1)
        return select_one(self)

    monkeypatch.setattr(django_postgresql.DatabaseWrapper, "is_usable", counting)
    client = outside()
    for _ in range(5):
        assert request_cycle(client, "/api/v1/categories/").status_code == 200
    pid = connection.connection.info.backend_pid
    assert selects == []
    _end_backend(pid)
    assert wait_until(lambda: _ended(pid), timeout=5)
    assert request_cycle(client, "/api/v1/categories/").status_code == 200
    assert selects == [1]  # asked once, when something was waiting on the socket
