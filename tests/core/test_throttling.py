"""``core.api.throttling``: fixed windows counted in one Redis round trip, failing open.

``throttle_wait`` is an API scoped rate applied to a page's request; the API's throttles
(AnonThrottle, UserThrottle, ScopedThrottle) count on the same counters.
"""

import math
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import redis
import time_machine
from django.conf import settings as django_settings
from django.contrib.auth.models import AnonymousUser
from django.test import RequestFactory
from rest_framework.test import APIClient

from config.settings.base import redis_cache
from core.api.throttling import throttle_wait
from tests.factories import UserFactory
from tests.utils import blackholed_port, closed_port, race, throttle_rates

pytestmark = pytest.mark.django_db


@pytest.fixture
def rates(settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "export": "2/hour",
            "erase": "1/hour",
        },
    }


def _request(user, address: str = "10.0.0.1"):
    request = RequestFactory().post("/", REMOTE_ADDR=address)
    request.user = user
    return request


def test_each_member_has_her_own_count_per_scope(rates):
    sparrow, bonnie = UserFactory(), UserFactory()
    assert throttle_wait(_request(sparrow), scope="export") is None
    assert throttle_wait(_request(sparrow, "10.0.0.2"), scope="export") is None
    wait = throttle_wait(_request(sparrow, "10.0.0.3"), scope="export")
    assert wait is not None and 0 < wait <= 3600  # the same member from any address
    assert throttle_wait(_request(bonnie), scope="export") is None
    assert throttle_wait(_request(sparrow), scope="erase") is None  # another scope


def test_a_refused_request_is_counted_too(rates):
    """A fixed window counts every request, refused ones included (one INCR, no read first):
    refusals never make room, and the window's end still lets the member in again."""
    sparrow = UserFactory()
    start = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False):
        assert throttle_wait(_request(sparrow), scope="erase") is None
        for _ in range(3):
            assert throttle_wait(_request(sparrow), scope="erase") is not None
    client = redis.Redis.from_url(django_settings.CACHES["default"]["LOCATION"])
    [key] = client.keys(f"*throttle_erase_{sparrow.pk}:*")
    assert client.get(key) == b"4"
    client.close()
    with time_machine.travel(start + timedelta(hours=1), tick=False):
        assert throttle_wait(_request(sparrow), scope="erase") is None


def test_signed_out_requests_count_by_address(rates):
    assert throttle_wait(_request(AnonymousUser()), scope="erase") is None
    assert throttle_wait(_request(AnonymousUser()), scope="erase") is not None
    assert throttle_wait(_request(AnonymousUser(), "10.0.0.9"), scope="erase") is None


def test_a_scope_without_a_rate_is_not_limited():
    sparrow = UserFactory()
    for _ in range(5):
        assert throttle_wait(_request(sparrow), scope="no-such-scope") is None


def test_the_wait_is_whole_seconds_rounded_up(settings):
    """59.4 seconds left is "60" (never 59: a client retrying then is refused again)."""
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "export": "1/min",
        },
    }
    sparrow = UserFactory()
    start = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False):
        assert throttle_wait(_request(sparrow), scope="export") is None
    with time_machine.travel(start + timedelta(seconds=0.6), tick=False):
        wait = throttle_wait(_request(sparrow), scope="export")
    assert wait == 60 and isinstance(wait, int)
    with time_machine.travel(start + timedelta(seconds=59.9), tick=False):
        assert throttle_wait(_request(sparrow), scope="export") == 1  # never "0"


# A minute's start (windows are aligned on the epoch, so on whole minutes and hours).
MINUTE = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def test_exactly_the_rate_per_window_and_the_wait_is_what_is_left_of_it(settings):
    throttle_rates(settings, export="3/min")
    sparrow = UserFactory()
    with time_machine.travel(MINUTE + timedelta(seconds=10), tick=False):
        assert [throttle_wait(_request(sparrow), scope="export") for _ in range(4)] == [
            None,
            None,
            None,
            50,
        ]
    with time_machine.travel(MINUTE + timedelta(seconds=59.999), tick=False):
        assert throttle_wait(_request(sparrow), scope="export") == 1  # the window's last ms
    with time_machine.travel(MINUTE + timedelta(seconds=60), tick=False):  # the next window
        assert [throttle_wait(_request(sparrow), scope="export") for _ in range(4)] == [
            None,
            None,
            None,
            60,
        ]


def test_an_hourly_window_ends_on_the_hour(settings):
    throttle_rates(settings, erase="1/hour")
    sparrow = UserFactory()
    with time_machine.travel(MINUTE + timedelta(minutes=59), tick=False):
        assert throttle_wait(_request(sparrow), scope="erase") is None
        assert throttle_wait(_request(sparrow), scope="erase") == 60
    with time_machine.travel(MINUTE + timedelta(hours=1), tick=False):
        assert throttle_wait(_request(sparrow), scope="erase") is None


def test_requests_racing_in_many_threads_are_counted_exactly(settings):
    """Each thread has its own cache client (Django's caches are per thread), one pool."""
    throttle_rates(settings, export="25/hour")
    sparrow = UserFactory()
    allowed: list[bool] = []
    lock = threading.Lock()

    def work() -> None:
        for _ in range(10):
            answer = throttle_wait(_request(sparrow), scope="export") is None
            with lock:
                allowed.append(answer)

    with time_machine.travel(MINUTE + timedelta(minutes=30), tick=False):
        assert race([work] * 8) == []
    assert len(allowed) == 80
    assert allowed.count(True) == 25


def test_a_rate_changed_in_settings_applies_at_once(settings):
    throttle_rates(settings, posting="5/min")
    sparrow = UserFactory()
    with time_machine.travel(MINUTE, tick=False):
        assert throttle_wait(_request(sparrow), scope="posting") is None
        assert throttle_wait(_request(sparrow), scope="posting") is None
        throttle_rates(settings, posting="2/min")  # the two already sent count against the new rate
        assert throttle_wait(_request(sparrow), scope="posting") == 60
        throttle_rates(settings, posting="10/min")
        assert throttle_wait(_request(sparrow), scope="posting") is None


def test_one_round_trip_under_the_cache_s_key_prefix(settings, round_trips):
    throttle_rates(settings, export="5/min")
    sparrow = UserFactory()
    throttle_wait(_request(sparrow), scope="export")  # the pool's first connection
    round_trips.clear()
    with time_machine.travel(MINUTE + timedelta(seconds=1), tick=False):
        assert throttle_wait(_request(sparrow), scope="export") is None
    [packet] = round_trips
    assert b"INCR" in packet and b"EXPIRE" in packet
    prefix = django_settings.CACHES["default"]["KEY_PREFIX"]
    client = redis.Redis.from_url(django_settings.CACHES["default"]["LOCATION"])
    window = int(MINUTE.timestamp() // 60)
    key = f"{prefix}:1:throttle_export_{sparrow.pk}:60:{window}"
    assert client.get(key) == b"1"
    assert 0 < client.ttl(key) <= 60  # gone soon after its window ends
    client.close()


def test_an_anonymous_api_request_throttles_in_one_round_trip(settings, db, round_trips):
    APIClient().get("/api/v1/categories/")  # the pool's first connection
    round_trips.clear()
    assert APIClient().get("/api/v1/categories/").status_code == 200
    assert len(round_trips) == 1


def test_the_refusal_is_a_429_with_retry_after_in_whole_seconds(settings):
    """API.md: 429, ``{"code": "throttled", "detail", "fields": {}}``, ``Retry-After``."""
    throttle_rates(settings, anon="2/min")
    started = MINUTE + timedelta(seconds=20.4)
    with time_machine.travel(started, tick=False):
        statuses = [APIClient().get("/api/v1/categories/") for _ in range(3)]
    assert [r.status_code for r in statuses] == [200, 200, 429]
    refused = statuses[-1]
    assert refused["Retry-After"] == "40"  # 39.6 s left, rounded up
    body = refused.json()
    assert body["code"] == "throttled"
    assert body["fields"] == {}
    assert "40 seconds" in body["detail"]


@pytest.fixture(params=["refused", "black-holed"])
def dead_redis(request, settings) -> Iterator[None]:
    if request.param == "refused":
        settings.CACHES = {"default": redis_cache(f"redis://127.0.0.1:{closed_port()}/0", "t")}
        yield
    else:
        with blackholed_port() as port:
            settings.CACHES = {"default": redis_cache(f"redis://127.0.0.1:{port}/0", "t")}
            yield


def test_with_redis_unreachable_every_request_goes_ahead_at_once(settings, dead_redis):
    """No connect timeout per call: after the first failure the pool fails at once."""
    throttle_rates(settings, export="1/hour")
    sparrow = UserFactory()
    elapsed = []
    for _ in range(20):
        started = time.perf_counter()
        assert throttle_wait(_request(sparrow), scope="export") is None
        elapsed.append(time.perf_counter() - started)
    assert max(elapsed) < 0.5, elapsed
    assert math.fsum(elapsed[1:]) < 0.1, elapsed  # the 50 ms connect timeout is paid once


def test_a_cache_other_than_redis_counts_too(settings):
    """A local run's in-memory cache (config/settings/local.py) throttles the same way."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    throttle_rates(settings, export="2/min")
    sparrow = UserFactory()
    with time_machine.travel(MINUTE + timedelta(seconds=30), tick=False):
        answers = [throttle_wait(_request(sparrow), scope="export") for _ in range(3)]
    assert answers == [None, None, 30]


def _counter_key(sparrow, when: datetime) -> str:
    prefix = django_settings.CACHES["default"]["KEY_PREFIX"]
    return f"{prefix}:1:throttle_export_{sparrow.pk}:60:{int(when.timestamp() // 60)}"


def test_an_error_redis_answers_itself_is_raised_not_a_throttle_turned_off(settings):
    """WRONGTYPE (a counter's key holding something else) is a misconfiguration, not an
    outage: it raises (a 500, logged) rather than letting every request through unseen."""
    throttle_rates(settings, export="1/min")
    sparrow = UserFactory()
    when = MINUTE + timedelta(seconds=5)
    client = redis.Redis.from_url(django_settings.CACHES["default"]["LOCATION"])
    client.rpush(_counter_key(sparrow, when), "not a counter")
    client.close()
    with time_machine.travel(when, tick=False), pytest.raises(redis.exceptions.ResponseError):
        throttle_wait(_request(sparrow), scope="export")


def test_a_redis_refusing_expire_nx_raises(settings, monkeypatch):
    """A Redis older than 7 answers ``EXPIRE ... NX`` with an error: raised, not failed open.
    (Simulated: the pipeline sends an EXPIRE option no Redis knows.)"""
    throttle_rates(settings, export="1/min")
    sparrow = UserFactory()

    def old_expire(self, name, time, **kwargs):
        return self.execute_command("EXPIRE", name, time, "NOSUCHOPTION")

    monkeypatch.setattr(redis.client.Pipeline, "expire", old_expire)
    with pytest.raises(redis.exceptions.ResponseError):
        throttle_wait(_request(sparrow), scope="export")
    with pytest.raises(redis.exceptions.ResponseError):  # every time: no quiet fallback
        throttle_wait(_request(sparrow), scope="export")


def test_a_read_only_replica_after_a_failover_fails_open(settings, tmp_path):
    """A failover that leaves the cache pointing at a read-only replica is an outage of the
    writable Redis, not a misconfiguration: requests go ahead uncounted, never a 500."""
    from tests.servers import RedisServer

    replica = RedisServer(tmp_path)
    replica.start()
    try:
        client = redis.Redis.from_url(replica.url)
        client.replicaof("127.0.0.1", closed_port())  # a replica, read-only, of a lost primary
        with pytest.raises(redis.exceptions.ReadOnlyError):  # the world this test stands in
            client.incr("probe")
        client.close()
        settings.CACHES = {"default": redis_cache(replica.url, "t")}
        throttle_rates(settings, export="1/min")
        sparrow = UserFactory()
        assert [throttle_wait(_request(sparrow), scope="export") for _ in range(3)] == [None] * 3
    finally:
        replica.stop()
