"""A signed-in request's session, user and throttle: few round trips, nothing kept stale.

An app's ``X-Session-Token`` is looked up with one session read (``accounts.tokens``); the
user is read from the database on every request, so a suspension or a sign-out elsewhere
applies to the very next one.
"""

import pytest
import redis
from allauth.headless.contrib.rest_framework.authentication import XSessionTokenAuthentication
from django.conf import settings as django_settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY
from django.contrib.auth.backends import ModelBackend
from django.contrib.sessions.backends.cached_db import SessionStore
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts.models import User
from accounts.roles import Role
from accounts.services import member_suspend
from accounts.tokens import token_user, user_by_pk
from tests.factories import PASSWORD, CategoryFactory, UserFactory
from tests.utils import signed_in

pytestmark = pytest.mark.django_db

LOGIN = "/_allauth/app/v1/auth/login"
SESSION = "/_allauth/app/v1/auth/session"


def app_client(user: User) -> tuple[APIClient, str]:
    client = APIClient()
    response = client.post(LOGIN, {"email": user.email, "password": PASSWORD}, format="json")
    assert response.status_code == 200
    token = response.json()["meta"]["session_token"]
    client.credentials(HTTP_X_SESSION_TOKEN=token)
    return client, token


def _cost(client, round_trips: list[bytes], path: str = "/api/v1/categories/"):
    round_trips.clear()
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    assert response.status_code == 200
    return list(round_trips), len(queries)


def test_a_signed_in_api_call_costs_two_round_trips_and_one_user_query(round_trips):
    """Session read and throttle count (Redis), the user's row (database); nothing else."""
    member = UserFactory()
    app, _ = app_client(member)
    browser = signed_in(member)
    anonymous = APIClient()
    for client in (app, browser, anonymous):  # connections made, sessions cached
        client.get("/api/v1/categories/")

    anonymous_trips, anonymous_queries = _cost(anonymous, round_trips)
    assert len(anonymous_trips) == 1  # the throttle
    for client in (app, browser):
        trips, queries = _cost(client, round_trips)
        assert len(trips) == 2, trips
        assert trips[0].startswith(b"*2\r\n$3\r\nGET\r\n") and b"sessions" in trips[0]
        assert b"INCR" in trips[1] and f"throttle_user_{member.pk}".encode() in trips[1]
        assert queries == anonymous_queries + 1  # her row, read afresh


def test_a_session_flushed_from_the_cache_is_read_from_the_database():
    member = UserFactory(display_name="Sparrowhawk")
    app, _ = app_client(member)
    prefix = django_settings.CACHES["default"]["KEY_PREFIX"]
    client = redis.Redis.from_url(django_settings.CACHES["default"]["LOCATION"])
    sessions = list(client.scan_iter(f"{prefix}:*sessions*"))
    assert sessions
    client.delete(*sessions)
    client.close()
    response = app.get("/api/v1/me/")
    assert response.status_code == 200
    assert response.json()["display_name"] == "Sparrowhawk"


def test_a_token_whose_session_ended_signs_nobody_in():
    member = UserFactory()
    app, token = app_client(member)
    assert app.delete(SESSION).status_code == 401  # signed out: the session is gone
    stale = APIClient()
    stale.credentials(HTTP_X_SESSION_TOKEN=token)
    assert stale.get("/api/v1/me/").status_code == 401
    assert stale.get(SESSION).status_code == 410  # allauth: the token names no session
    unknown = APIClient()
    unknown.credentials(HTTP_X_SESSION_TOKEN="x" * 32)
    assert unknown.get("/api/v1/me/").status_code == 401
    assert unknown.get(SESSION).status_code == 410


def test_a_suspension_applies_to_the_next_request_of_a_signed_in_member():
    member = UserFactory()
    moderator = UserFactory(role=Role.MODERATOR)
    category = CategoryFactory()
    app, _ = app_client(member)
    thread = {"category": category.slug, "title": "A question about scans", "body": "x" * 40}
    assert app.post("/api/v1/threads/", thread, format="json").status_code == 201
    member_suspend(actor=moderator, member=member, until=None, reason="test")
    assert app.get("/api/v1/me/").json()["is_suspended"] is True
    refused = app.post("/api/v1/threads/", thread, format="json")
    assert refused.status_code == 403
    assert refused.json()["code"] == "suspended"


def test_the_users_row_is_read_as_the_orm_reads_it():
    """``accounts.tokens.user_by_pk``, one statement, builds the very user the ORM does."""
    member = UserFactory(display_name="Ged")
    member_suspend(actor=UserFactory(role=Role.MODERATOR), member=member, until=None, reason="x")
    read = user_by_pk(member.pk)
    expected = User.objects.get(pk=member.pk)
    fields = [f.attname for f in User._meta.concrete_fields]
    assert [getattr(read, f) for f in fields] == [getattr(expected, f) for f in fields]
    assert read.suspended_indefinitely is True and read._state.adding is False
    assert user_by_pk(member.pk + 1000) is None


class ReadingBackend(ModelBackend):
    """A backend reading users its own way (here: the ORM's, counted)."""

    reads: list[int] = []

    def get_user(self, user_id):  # type: ignore[no-untyped-def]
        self.reads.append(user_id)
        return super().get_user(user_id)


READING_BACKEND = f"{__name__}.ReadingBackend"
CHANGES = [
    "none",
    "password",
    "inactive",
    "deleted",
    "backend",
    "own backend",
    "no hash",
    "rotated key",
]


def _change(change: str, member: User, tokens: list[str], settings) -> None:  # type: ignore[no-untyped-def]
    """What became of the member, or of each of her sessions ``tokens``."""
    if change == "password":  # changed elsewhere: every other session ends
        member.set_password("another-Password-2026")
        member.save()
    elif change == "inactive":
        User.objects.filter(pk=member.pk).update(is_active=False)
    elif change == "deleted":
        User.objects.filter(pk=member.pk).delete()
    elif change == "rotated key":  # the old key kept as a fallback
        settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
        settings.SECRET_KEY = "a-new-secret-key-" + "x" * 50
    elif change in ("backend", "own backend"):
        settings.AUTHENTICATION_BACKENDS = [*settings.AUTHENTICATION_BACKENDS, READING_BACKEND]
    for token in tokens:
        store = SessionStore(session_key=token)
        if change == "backend":  # one no longer in the settings
            store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.RemoteUserBackend"
        elif change == "own backend":
            store[BACKEND_SESSION_KEY] = READING_BACKEND
        elif change == "no hash":
            del store[HASH_SESSION_KEY]
        store.save()


@pytest.mark.parametrize("change", CHANGES)
def test_a_token_signs_in_exactly_whom_allauth_signs_in(settings, change):
    """Whatever became of the member or her session since she signed in, the token signs in
    whom allauth's own authentication (Django's ``get_user``) would, and no one else: each
    asked twice, on sessions of their own that went through the same change."""
    member = UserFactory()
    ReadingBackend.reads = []
    ours_token, theirs_token = app_client(member)[1], app_client(member)[1]
    _change(change, member, [ours_token, theirs_token], settings)

    def ours() -> int | None:
        found = token_user(RequestFactory().get("/", HTTP_X_SESSION_TOKEN=ours_token))
        return None if found is None else found[0].pk

    def theirs() -> int | None:
        request = RequestFactory().get("/", HTTP_X_SESSION_TOKEN=theirs_token)
        found = XSessionTokenAuthentication().authenticate(request)
        return None if found is None else found[0].pk

    answers = [(ours(), theirs()) for _ in range(2)]
    assert [a for a, _ in answers] == [b for _, b in answers]
    expected = {
        "none": [member.pk, member.pk],
        "own backend": [member.pk, member.pk],
        # Django cycles the session's key (the app is never told the new one): signed in
        # once more, then signed out, with allauth's authentication as with ours.
        "rotated key": [member.pk, None],
    }.get(change, [None, None])
    assert [a for a, _ in answers] == expected
    if change == "own backend":  # handed to her backend, each time
        assert ReadingBackend.reads == [member.pk] * 4
