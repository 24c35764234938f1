"""Who gets what: every operation of the schema, called as each kind of person there is.

Each row is an operation and the exact status each caller gets when asking for something
that exists, with input that would succeed for someone allowed: an anonymous visitor, the
member who owns what is asked about, another member, a member whose email is no longer
verified, a suspended member, a nurse, a moderator and an admin (a superuser with no staff
role). Every caller holds a real allauth session token. Each call runs in a savepoint
rolled back afterwards, so every caller meets the same world. An operation of the schema
without a row fails the test: a new endpoint is not done until its row is written.
"""

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from django.db import transaction
from django.test import Client
from django.utils import timezone

from accounts.roles import Role
from accounts.services import member_premoderate
from forum.services import post_create, post_hide, thread_follow
from moderation import demo
from moderation.answers import nurse_answer_create
from moderation.flags import flag_create
from tests.factories import PASSWORD, CategoryFactory, UserFactory, make_thread
from tests.openapi import load_schema, session_token, unthrottled

ROLES = (
    "anonymous",
    "member",
    "other",
    "unverified",
    "suspended",
    "nurse",
    "moderator",
    "admin",
)


def row(*statuses: int) -> dict[str, int]:
    assert len(statuses) == len(ROLES)
    return dict(zip(ROLES, statuses, strict=True))


@dataclass
class World:
    users: dict[str, Any]
    tokens: dict[str, str]
    thread: Any
    own_reply: Any
    other_reply: Any
    answer: Any
    closed_thread: Any
    hidden_post: Any
    review_item: Any
    premoderated: Any
    answer_digest: str = ""


# What each operation is called with: (path parameters, query, JSON body), from the world.
Probe = Callable[[World], tuple[dict[str, Any], dict[str, Any], Any]]


def _thread(w: World) -> dict[str, Any]:
    return {"thread_id": w.thread.pk}


def _own_post(w: World) -> dict[str, Any]:
    return {"post_id": w.own_reply.pk}


def _others_post(w: World) -> dict[str, Any]:
    return {"post_id": w.other_reply.pk}


ANSWER = {"body": "Treatment depends on what you had before.", "signposts": ["helpline"]}

# (method, path): (probe, statuses for ROLES)
MATRIX: dict[tuple[str, str], tuple[Probe, dict[str, int]]] = {
    # --- Reading ------------------------------------------------------------------------
    ("GET", "/api/v1/categories/"): (
        lambda w: ({}, {}, None),
        row(200, 200, 200, 200, 200, 200, 200, 200),
    ),
    ("GET", "/api/v1/threads/"): (
        lambda w: ({}, {}, None),
        row(200, 200, 200, 200, 200, 200, 200, 200),
    ),
    ("GET", "/api/v1/threads/similar/"): (
        lambda w: ({}, {"title": "recurrence"}, None),
        row(200, 200, 200, 200, 200, 200, 200, 200),
    ),
    ("GET", "/api/v1/threads/{thread_id}/"): (
        lambda w: (_thread(w), {}, None),
        row(200, 200, 200, 200, 200, 200, 200, 200),
    ),
    ("GET", "/api/v1/threads/{thread_id}/posts/"): (
        lambda w: (_thread(w), {}, None),
        row(200, 200, 200, 200, 200, 200, 200, 200),
    ),
    ("GET", "/api/v1/me/"): (
        lambda w: ({}, {}, None),
        row(401, 200, 200, 200, 200, 200, 200, 200),
    ),
    ("PATCH", "/api/v1/me/"): (
        lambda w: ({}, {}, {"email_on_reply": False}),
        row(401, 200, 200, 200, 200, 200, 200, 200),
    ),
    ("GET", "/api/v1/me/export/"): (
        lambda w: ({}, {}, None),
        row(401, 200, 200, 200, 200, 200, 200, 200),
    ),
    # Erasing one's own account takes the password again (and is rolled back here).
    ("DELETE", "/api/v1/me/"): (
        lambda w: ({}, {}, {"password": PASSWORD}),
        row(401, 204, 204, 204, 204, 204, 204, 204),
    ),
    # Muting changes only what the muter sees: anyone signed in, but never oneself.
    ("POST", "/api/v1/members/{member_id}/mute/"): (
        lambda w: ({"member_id": w.users["other"].pk}, {}, None),
        row(401, 200, 403, 200, 200, 200, 200, 200),
    ),
    ("DELETE", "/api/v1/members/{member_id}/mute/"): (
        lambda w: ({"member_id": w.users["other"].pk}, {}, None),
        row(401, 200, 200, 200, 200, 200, 200, 200),
    ),
    ("GET", "/api/v1/me/mutes/"): (
        lambda w: ({}, {}, None),
        row(401, 200, 200, 200, 200, 200, 200, 200),
    ),
    ("GET", "/api/v1/notifications/"): (
        lambda w: ({}, {}, None),
        row(401, 200, 200, 200, 200, 200, 200, 200),
    ),
    ("POST", "/api/v1/notifications/read/"): (
        lambda w: ({}, {}, {"all": True}),
        row(401, 200, 200, 200, 200, 200, 200, 200),
    ),
    # --- Writing as a member ----------------------------------------------------------------
    ("POST", "/api/v1/threads/"): (
        lambda w: ({}, {}, {"category": "recurrence", "title": "Scan anxiety", "body": "Tips?"}),
        row(401, 201, 201, 403, 403, 201, 201, 201),
    ),
    ("POST", "/api/v1/threads/{thread_id}/posts/"): (
        lambda w: (_thread(w), {}, {"body": "Thinking of you."}),
        row(401, 201, 201, 403, 403, 201, 201, 201),
    ),
    ("PATCH", "/api/v1/posts/{post_id}/"): (
        lambda w: (_own_post(w), {}, {"body": "Edited.", "reason": "Typo"}),
        row(401, 200, 403, 403, 403, 403, 200, 200),
    ),
    ("DELETE", "/api/v1/posts/{post_id}/"): (
        lambda w: (_own_post(w), {}, {"reason": "Off topic"}),
        row(401, 200, 403, 403, 403, 403, 200, 200),
    ),
    ("GET", "/api/v1/posts/{post_id}/revisions/"): (
        lambda w: (_own_post(w), {}, None),
        row(401, 403, 403, 403, 403, 403, 200, 200),
    ),
    ("POST", "/api/v1/posts/{post_id}/like/"): (
        lambda w: (_others_post(w), {}, None),
        row(401, 200, 403, 403, 403, 200, 200, 200),
    ),
    ("DELETE", "/api/v1/posts/{post_id}/like/"): (
        lambda w: (_others_post(w), {}, None),
        row(401, 200, 200, 403, 403, 200, 200, 200),
    ),
    ("POST", "/api/v1/threads/{thread_id}/follow/"): (
        lambda w: (_thread(w), {}, None),
        row(401, 200, 200, 403, 403, 200, 200, 200),
    ),
    ("DELETE", "/api/v1/threads/{thread_id}/follow/"): (
        lambda w: (_thread(w), {}, None),
        row(401, 200, 200, 200, 200, 200, 200, 200),
    ),
    # --- Nurses -----------------------------------------------------------------------------
    ("GET", "/api/v1/signposts/"): (
        lambda w: ({}, {}, None),
        row(401, 403, 403, 403, 403, 200, 403, 403),
    ),
    ("GET", "/api/v1/nurse/queue/"): (
        lambda w: ({}, {}, None),
        row(401, 403, 403, 403, 403, 200, 403, 403),
    ),
    ("POST", "/api/v1/threads/{thread_id}/nurse-answer/preview/"): (
        lambda w: (_thread(w), {}, ANSWER),
        row(401, 403, 403, 403, 403, 200, 403, 403),
    ),
    ("POST", "/api/v1/threads/{thread_id}/nurse-answer/"): (
        lambda w: (_thread(w), {}, {**ANSWER, "preview_digest": w.answer_digest}),
        row(401, 403, 403, 403, 403, 201, 403, 403),
    ),
    ("POST", "/api/v1/posts/{post_id}/correction/"): (
        lambda w: ({"post_id": w.answer.pk}, {}, {**ANSWER, "reason": "Clearer"}),
        row(401, 403, 403, 403, 403, 200, 403, 403),
    ),
    ("POST", "/api/v1/threads/{thread_id}/close/"): (
        lambda w: (_thread(w), {}, {"reason": "Answered"}),
        row(401, 403, 403, 403, 403, 200, 200, 403),
    ),
    ("POST", "/api/v1/threads/{thread_id}/reopen/"): (
        lambda w: ({"thread_id": w.closed_thread.pk}, {}, {"reason": "More to say"}),
        row(401, 403, 403, 403, 403, 200, 200, 403),
    ),
    # --- Flags, the review queue and moderators' actions -------------------------------------
    ("POST", "/api/v1/posts/{post_id}/flags/"): (
        lambda w: (_others_post(w), {}, {"reason": "spam", "note": "Selling pills"}),
        row(401, 201, 403, 403, 403, 201, 201, 201),
    ),
    ("POST", "/api/v1/posts/{post_id}/hide/"): (
        lambda w: (_others_post(w), {}, {"reason": "Off topic", "note": "Please stay kind"}),
        row(401, 403, 403, 403, 403, 403, 200, 200),
    ),
    ("POST", "/api/v1/posts/{post_id}/restore/"): (
        lambda w: ({"post_id": w.hidden_post.pk}, {}, {"reason": "Fine after all"}),
        row(401, 403, 403, 403, 403, 403, 200, 200),
    ),
    ("POST", "/api/v1/threads/{thread_id}/move/"): (
        lambda w: (_thread(w), {}, {"category": "recurrence", "reason": "Not a question"}),
        row(401, 403, 403, 403, 403, 403, 200, 200),
    ),
    ("GET", "/api/v1/moderation/queue/"): (
        lambda w: ({}, {}, None),
        row(401, 403, 403, 403, 403, 403, 200, 200),
    ),
    ("POST", "/api/v1/moderation/queue/{item_id}/claim/"): (
        lambda w: ({"item_id": w.review_item.pk}, {}, {}),
        row(401, 403, 403, 403, 403, 403, 200, 200),
    ),
    ("POST", "/api/v1/moderation/queue/{item_id}/resolve/"): (
        lambda w: ({"item_id": w.review_item.pk}, {}, {"action": "dismiss", "note": "Fine"}),
        row(401, 403, 403, 403, 403, 403, 200, 200),
    ),
    ("POST", "/api/v1/moderation/members/{member_id}/suspend/"): (
        lambda w: ({"member_id": w.users["other"].pk}, {}, {"until": None, "reason": "Abuse"}),
        row(401, 403, 403, 403, 403, 403, 200, 200),
    ),
    ("POST", "/api/v1/moderation/members/{member_id}/unsuspend/"): (
        lambda w: ({"member_id": w.users["suspended"].pk}, {}, {"reason": "Served"}),
        row(401, 403, 403, 403, 403, 403, 200, 200),
    ),
    ("POST", "/api/v1/moderation/members/{member_id}/premoderate/"): (
        lambda w: ({"member_id": w.users["other"].pk}, {}, {"until": None, "reason": "Spam"}),
        row(401, 403, 403, 403, 403, 403, 200, 200),
    ),
    ("POST", "/api/v1/moderation/members/{member_id}/release/"): (
        lambda w: ({"member_id": w.premoderated.pk}, {}, {"reason": "Settled in"}),
        row(401, 403, 403, 403, 403, 403, 200, 200),
    ),
    # --- allauth (the app client) -------------------------------------------------------------
    ("GET", "/_allauth/{client}/v1/config"): (
        lambda w: ({"client": "app"}, {}, None),
        row(200, 200, 200, 200, 200, 200, 200, 200),
    ),
    ("GET", "/_allauth/{client}/v1/auth/session"): (
        lambda w: ({"client": "app"}, {}, None),
        row(401, 200, 200, 200, 200, 200, 200, 200),
    ),
    ("DELETE", "/_allauth/{client}/v1/auth/session"): (
        lambda w: ({"client": "app"}, {}, None),
        row(401, 401, 401, 401, 401, 401, 401, 401),
    ),
    ("POST", "/_allauth/{client}/v1/auth/login"): (
        lambda w: ({"client": "app"}, {}, {"email": "visitor@haven.test", "password": PASSWORD}),
        row(200, 409, 409, 409, 409, 409, 409, 409),
    ),
    ("POST", "/_allauth/{client}/v1/auth/signup"): (
        lambda w: (
            {"client": "app"},
            {},
            {
                "email": "newcomer@haven.test",
                "password": "a long new passphrase 9",
                "display_name": "Newcomer",
            },
        ),
        row(401, 409, 409, 409, 409, 409, 409, 409),
    ),
    ("GET", "/_allauth/{client}/v1/account/email"): (
        lambda w: ({"client": "app"}, {}, None),
        row(401, 200, 200, 200, 200, 200, 200, 200),
    ),
    ("POST", "/_allauth/{client}/v1/account/password/change"): (
        lambda w: (
            {"client": "app"},
            {},
            {"current_password": PASSWORD, "new_password": "a long new passphrase 9"},
        ),
        row(401, 200, 200, 200, 200, 200, 200, 200),
    ),
    ("POST", "/_allauth/{client}/v1/auth/password/request"): (
        lambda w: ({"client": "app"}, {}, {"email": "visitor@haven.test"}),
        row(200, 200, 200, 200, 200, 200, 200, 200),
    ),
    # Key-based flows: a wrong key is refused alike, whoever asks.
    ("GET", "/_allauth/{client}/v1/auth/email/verify"): (
        lambda w: ({"client": "app"}, {}, None),
        row(400, 400, 400, 400, 400, 400, 400, 400),
    ),
    ("POST", "/_allauth/{client}/v1/auth/email/verify"): (
        lambda w: ({"client": "app"}, {}, {"key": "not-a-key"}),
        row(400, 400, 400, 400, 400, 400, 400, 400),
    ),
    ("POST", "/_allauth/{client}/v1/auth/email/verify/resend"): (
        lambda w: ({"client": "app"}, {}, None),
        row(409, 409, 409, 409, 409, 409, 409, 409),
    ),
    ("POST", "/_allauth/{client}/v1/auth/reauthenticate"): (
        lambda w: ({"client": "app"}, {}, {"password": PASSWORD}),
        row(401, 200, 200, 200, 200, 200, 200, 200),
    ),
    ("GET", "/_allauth/{client}/v1/auth/password/reset"): (
        lambda w: ({"client": "app"}, {}, None),
        row(400, 400, 400, 400, 400, 400, 400, 400),
    ),
    ("POST", "/_allauth/{client}/v1/auth/password/reset"): (
        lambda w: ({"client": "app"}, {}, {"key": "1-x", "password": "a long new passphrase 9"}),
        row(400, 400, 400, 400, 400, 400, 400, 400),
    ),
    ("POST", "/_allauth/{client}/v1/auth/code/confirm"): (
        lambda w: ({"client": "app"}, {}, {"code": "ABCDEF"}),
        row(409, 409, 409, 409, 409, 409, 409, 409),
    ),
    # Signed out, this changes the address of a sign-up waiting for its code: none here.
    ("POST", "/_allauth/{client}/v1/account/email"): (
        lambda w: ({"client": "app"}, {}, {"email": "second@haven.test"}),
        row(409, 200, 200, 200, 200, 200, 200, 200),
    ),
    ("PUT", "/_allauth/{client}/v1/account/email"): (
        lambda w: ({"client": "app"}, {}, {"email": "nobody@haven.test"}),
        row(401, 400, 400, 400, 400, 400, 400, 400),
    ),
    ("PATCH", "/_allauth/{client}/v1/account/email"): (
        lambda w: ({"client": "app"}, {}, {"email": "nobody@haven.test", "primary": True}),
        row(401, 400, 400, 400, 400, 400, 400, 400),
    ),
    ("DELETE", "/_allauth/{client}/v1/account/email"): (
        lambda w: ({"client": "app"}, {}, {"email": "nobody@haven.test"}),
        row(401, 400, 400, 400, 400, 400, 400, 400),
    ),
    ("POST", "/_allauth/app/v1/tokens/refresh"): (
        lambda w: ({}, {}, {"refresh_token": "not-a-token"}),
        row(400, 400, 400, 400, 400, 400, 400, 400),
    ),
}

schema = load_schema()
OPERATIONS = {
    (method.upper(), path)
    for path, operations in schema.raw_schema["paths"].items()
    for method in operations
    if method in {"get", "post", "put", "patch", "delete"}
}


@pytest.fixture
def world(db, settings) -> World:
    unthrottled(settings)
    settings.ACCOUNT_RATE_LIMITS = False  # limits are tested on their own; here, who may
    demo.install()
    users = {
        "member": UserFactory(email="authz-member@haven.test", display_name="Sparrowhawk"),
        "other": UserFactory(email="authz-other@haven.test", display_name="Bonnie52"),
        "unverified": UserFactory(email="authz-unverified@haven.test", display_name="Heron"),
        "suspended": UserFactory(email="authz-suspended@haven.test", display_name="Kestrel"),
        "nurse": UserFactory(email="authz-nurse@haven.test", role=Role.NURSE),
        "moderator": UserFactory(email="authz-mod@haven.test", role=Role.MODERATOR),
        "admin": UserFactory(
            email="authz-admin@haven.test", display_name="Admin", is_staff=True, is_superuser=True
        ),
    }
    UserFactory(email="visitor@haven.test", display_name="Visitor")
    asking = CategoryFactory(slug="ask-our-nurses", nurse_answered=True)
    CategoryFactory(slug="recurrence")
    thread = make_thread(
        author=users["member"], category=asking, title="Treatment options after a recurrence"
    )
    other_reply = post_create(author=users["other"], thread=thread, body="Surgery, then radio.")
    own_reply = post_create(author=users["member"], thread=thread, body="Thank you so much.")
    for user in users.values():
        thread_follow(user=user, thread=thread)
    answered = make_thread(author=users["other"], category=asking, title="Fatigue after radio")
    answer = nurse_answer_create(
        nurse=users["nurse"], thread=answered, body="Rest helps.", signposts=[], close=True
    )
    hidden_post = post_create(author=users["other"], thread=thread, body="Buy my tonic.")
    post_hide(actor=users["moderator"], post=hidden_post, reason="Advertising")
    review_item = flag_create(
        flagger=users["other"], post=own_reply, reason="misinformation", note="Not so"
    ).item
    premoderated = UserFactory(email="authz-held@haven.test", display_name="Wren")
    member_premoderate(actor=users["moderator"], member=premoderated, until=None)
    # Signed in while everything was fine; then the world changed under the sessions.
    client = Client()
    tokens = {name: session_token(client, user.email) for name, user in users.items()}
    EmailAddress.objects.filter(user=users["unverified"]).update(verified=False)
    users["suspended"].suspended_until = timezone.now() + timezone.timedelta(days=7)
    users["suspended"].save(update_fields=["suspended_until"])
    w = World(
        users=users,
        tokens=tokens,
        thread=thread,
        own_reply=own_reply,
        other_reply=other_reply,
        answer=answer,
        closed_thread=answered,
        hidden_post=hidden_post,
        review_item=review_item,
        premoderated=premoderated,
    )
    preview = Client().post(
        f"/api/v1/threads/{thread.pk}/nurse-answer/preview/",
        ANSWER,
        content_type="application/json",
        HTTP_X_SESSION_TOKEN=tokens["nurse"],
    )
    assert preview.status_code == 200, preview.content
    w.answer_digest = preview.json()["preview_digest"]
    return w


@contextmanager
def _rolled_back() -> Iterator[None]:
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


def _call(w: World, role: str, method: str, path: str, probe: Probe) -> int:
    params, query, body = probe(w)
    url = path.format(**params)
    headers = {} if role == "anonymous" else {"HTTP_X_SESSION_TOKEN": w.tokens[role]}
    client = Client(REMOTE_ADDR="127.0.0.1")
    with _rolled_back():
        response = client.generic(
            method,
            url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else ""),
            data="" if body is None else json.dumps(body),
            content_type="application/json",
            **headers,
        )
    return response.status_code


def test_every_operation_has_a_row():
    assert sorted(OPERATIONS - set(MATRIX)) == [], "write the new operations' rows"
    assert sorted(set(MATRIX) - OPERATIONS) == [], "rows for operations no longer served"


def test_each_caller_gets_exactly_the_status_of_its_row(world):
    wrong = []
    for (method, path), (probe, expected) in sorted(MATRIX.items()):
        got = {role: _call(world, role, method, path, probe) for role in ROLES}
        if got != expected:
            wrong.append(f"{method} {path}: got row{tuple(got[r] for r in ROLES)}")
    assert wrong == [], "\n".join(wrong)
