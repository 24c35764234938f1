import logging
from collections.abc import Iterator

import pytest
import redis
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from rest_framework.test import APIClient

from accounts.models import User
from config.celery import app as celery_app
from moderation.roles import sync_role_groups
from tests.factories import UserFactory


@pytest.fixture(autouse=True)
def _clean_cache() -> Iterator[None]:
    """Throttle counters and allauth rate limits must not leak from one test to the next.

    Only this suite's own keys (its KEY_PREFIX) are deleted, never a whole Redis database.
    """
    yield
    client = redis.Redis.from_url(settings.CACHES["default"]["LOCATION"])
    prefix = settings.CACHES["default"]["KEY_PREFIX"]
    keys = list(client.scan_iter(f"{prefix}:*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture(autouse=True)
def _role_groups_in_transactional_tests(request: pytest.FixtureRequest) -> None:
    """Transactional tests empty every table when they end, data migrations' rows too.

    They run after all the others; each puts the role groups and the site back first.
    """
    marker = request.node.get_closest_marker("django_db")
    transactional = "transactional_db" in request.fixturenames or (
        marker is not None and marker.kwargs.get("transaction", False)
    )
    if transactional:
        from django.apps import apps
        from django.contrib.sites.models import Site

        request.getfixturevalue("transactional_db")
        sync_role_groups(apps)
        Site.objects.get_or_create(
            pk=settings.SITE_ID, defaults={"domain": "127.0.0.1:8000", "name": "Haven"}
        )


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def member(db: None) -> User:
    return UserFactory(display_name="Sparrowhawk")


@pytest.fixture
def member_client(member: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(member)
    return client


@pytest.fixture
def admin_client(client, db: None):
    """A browser session of a superuser, for the Django admin (``client.admin`` is the user)."""
    admin = UserFactory(display_name="Site Admin", is_superuser=True)
    client.force_login(admin)
    client.admin = admin
    return client


@pytest.fixture
def celery_worker(transactional_db: None) -> Iterator[None]:
    """A real Celery worker, in a thread, consuming this suite's queue on the real Redis.

    While it runs, tasks go through the broker instead of running eagerly; the test's
    writes are committed (transactional_db) so the worker's own connection sees them.
    """
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)  # the embedded worker reconfigures them
    celery_app.conf.task_always_eager = False
    with celery_app.connection_for_write() as conn:
        conn.default_channel.queue_purge(settings.CELERY_TASK_DEFAULT_QUEUE)
    try:
        with start_worker(
            celery_app,
            pool="solo",
            perform_ping_check=False,
            queues=[settings.CELERY_TASK_DEFAULT_QUEUE],
            shutdown_timeout=20,
        ):
            yield
    finally:
        celery_app.conf.task_always_eager = True
        root.setLevel(level)
        root.handlers = handlers


@pytest.fixture
def round_trips(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """Every packet of commands sent to any Redis from now on: one per round trip."""
    sent: list[bytes] = []
    send = redis.connection.AbstractConnection.send_packed_command

    def counting(self, command, check_health=True):  # type: ignore[no-untyped-def]
        sent.append(b"".join(command) if isinstance(command, list) else command)
        return send(self, command, check_health)

    monkeypatch.setattr(redis.connection.AbstractConnection, "send_packed_command", counting)
    return sent
