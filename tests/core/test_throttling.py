"""``core.api.throttling.throttle_wait``: an API scoped rate applied to a page's request."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.auth.models import AnonymousUser
from django.test import RequestFactory

from core.api.throttling import throttle_wait
from tests.factories import UserFactory

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


def test_a_refused_request_is_not_counted(rates):
    sparrow = UserFactory()
    assert throttle_wait(_request(sparrow), scope="erase") is None
    for _ in range(3):
        assert throttle_wait(_request(sparrow), scope="erase") is not None


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
