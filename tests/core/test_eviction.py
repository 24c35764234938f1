"""What README's ``maxmemory-policy volatile-lru`` may evict: every cache key carries a TTL,
and losing one costs a miss, never a signed-out member or a lost job."""

import pytest
from django.contrib.sessions.backends.cached_db import KEY_PREFIX
from django.core.cache import cache
from django.test import Client

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_an_evicted_session_copy_is_read_again_from_the_database():
    member = UserFactory()
    client = Client()
    client.force_login(member)
    key = cache.make_key(KEY_PREFIX + client.session.session_key)
    redis = cache.client.get_client(write=True)
    assert redis.ttl(key) > 0  # volatile: an eviction candidate
    redis.delete(key)  # what an eviction does
    assert client.get("/api/v1/me/").status_code == 200
    assert redis.exists(key)  # and the copy is back
