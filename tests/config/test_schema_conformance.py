"""Every documented /api/v1/ operation, called for real and answered as documented.

schemathesis (tests/security/) explores with generated input, which mostly meets 404s and
400s; this walks the forum's life with real rows so each operation's success answer is
compared with its documented shape too. A new operation fails the coverage check until it
is added here.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import User
from accounts.roles import Role
from forum.models import Post
from forum.services import post_create, thread_follow
from moderation import demo
from tests.factories import PASSWORD, CategoryFactory, UserFactory, make_thread
from tests.openapi import CHECKS, in_test_transaction, load_schema, session_token, unthrottled

schema = load_schema()
API = [
    (method.upper(), path)
    for path, operations in schema.raw_schema["paths"].items()
    if path.startswith("/api/v1/")
    for method in operations
    if method in {"get", "post", "put", "patch", "delete"}
]


@pytest.fixture
def world(db, client, settings):
    unthrottled(settings)
    demo.install()
    member = UserFactory(email="conform-member@haven.test", display_name="Sparrowhawk")
    other = UserFactory(email="conform-other@haven.test", display_name="Bonnie52")
    nurse = UserFactory(email="conform-nurse@haven.test", role=Role.NURSE)
    moderator = UserFactory(email="conform-mod@haven.test", role=Role.MODERATOR)
    asking = CategoryFactory(slug="ask-our-nurses", nurse_answered=True)
    CategoryFactory(slug="recurrence")
    thread = make_thread(
        author=member, category=asking, title="Treatment options after a local recurrence"
    )
    reply = post_create(author=other, thread=thread, body="I had surgery, then radiotherapy.")
    thread_follow(user=other, thread=thread)
    world = {
        "thread": thread,
        "reply": reply,
        "tokens": {
            name: {"X-Session-Token": session_token(client, user.email)}
            for name, user in {
                "member": member,
                "other": other,
                "nurse": nurse,
                "moderator": moderator,
            }.items()
        },
    }
    with in_test_transaction():
        yield world


def _call(world, covered, who, method, path, *, params=None, query=None, body=None, status):
    payload = {} if body is None else {"body": body, "media_type": "application/json"}
    case = schema[path][method].Case(path_parameters=params or {}, query=query or {}, **payload)
    response = case.call(headers=world["tokens"].get(who, {}))
    case.validate_response(response, checks=CHECKS)
    assert response.status_code == status, (method, path, response.text[:500])
    covered.add((method, path))
    return response.json() if response.content else None


def test_every_operation_answers_real_requests_in_its_documented_shape(world):
    covered: set[tuple[str, str]] = set()
    t = {"thread_id": world["thread"].pk}
    reply = {"post_id": world["reply"].pk}

    def call(*args, **kwargs):
        return _call(world, covered, *args, **kwargs)

    # Reading, as anyone and as members.
    call("anonymous", "GET", "/api/v1/categories/", status=200)
    call("anonymous", "GET", "/api/v1/threads/", query={"category": "ask-our-nurses"}, status=200)
    call("member", "GET", "/api/v1/threads/{thread_id}/", params=t, status=200)
    call("member", "GET", "/api/v1/threads/{thread_id}/posts/", params=t, status=200)
    call("anonymous", "GET", "/api/v1/threads/similar/", query={"title": "recurrence"}, status=200)
    call("member", "GET", "/api/v1/me/", status=200)
    call("member", "GET", "/api/v1/me/export/", status=200)
    call("member", "PATCH", "/api/v1/me/", body={"email_on_reply": False}, status=200)
    call("member", "GET", "/api/v1/notifications/", status=200)
    call("member", "POST", "/api/v1/notifications/read/", body={"all": True}, status=200)

    # Writing, as members.
    created = call(
        "member",
        "POST",
        "/api/v1/threads/",
        body={"category": "recurrence", "title": "Scan anxiety", "body": "How do you cope?"},
        status=201,
    )
    mine = call(
        "member",
        "POST",
        "/api/v1/threads/{thread_id}/posts/",
        params={"thread_id": created["id"]},
        body={"body": "Answering myself for now."},
        status=201,
    )
    own = {"post_id": mine["id"]}
    call(
        "member",
        "PATCH",
        "/api/v1/posts/{post_id}/",
        params=own,
        body={"body": "Edited."},
        status=200,
    )
    call("member", "POST", "/api/v1/posts/{post_id}/like/", params=reply, status=200)
    call("member", "DELETE", "/api/v1/posts/{post_id}/like/", params=reply, status=200)
    call("member", "POST", "/api/v1/threads/{thread_id}/follow/", params=t, status=200)
    call("member", "DELETE", "/api/v1/threads/{thread_id}/follow/", params=t, status=200)
    call("member", "DELETE", "/api/v1/posts/{post_id}/", params=own, status=200)

    # Muting a member; a held reply answers 202.
    muted = {"member_id": world["reply"].author_id}
    call("member", "POST", "/api/v1/members/{member_id}/mute/", params=muted, status=200)
    call("member", "GET", "/api/v1/me/mutes/", status=200)
    call("member", "DELETE", "/api/v1/members/{member_id}/mute/", params=muted, status=200)
    User.objects.filter(pk=world["reply"].author_id).update(premoderated_indefinitely=True)
    held = call(
        "other",
        "POST",
        "/api/v1/threads/{thread_id}/posts/",
        params=t,
        body={"body": "Held"},
        status=202,
    )
    assert held["status"] == "pending"
    User.objects.filter(pk=world["reply"].author_id).update(premoderated_indefinitely=False)

    # A moderator edits someone else's post: its history is kept.
    call(
        "moderator",
        "PATCH",
        "/api/v1/posts/{post_id}/",
        params=reply,
        body={"body": "I had surgery, then radiotherapy (edited).", "reason": "Typo"},
        status=200,
    )
    call("moderator", "GET", "/api/v1/posts/{post_id}/revisions/", params=reply, status=200)

    # The nurse answers, corrects, closes and reopens.
    signposts = call("nurse", "GET", "/api/v1/signposts/", status=200)
    keys = [row["key"] for row in signposts][:2]
    call("nurse", "GET", "/api/v1/nurse/queue/", status=200)
    answer = {"body": "Treatment depends on what you had before.", "signposts": keys}
    preview = call(
        "nurse",
        "POST",
        "/api/v1/threads/{thread_id}/nurse-answer/preview/",
        params=t,
        body=answer,
        status=200,
    )
    published = call(
        "nurse",
        "POST",
        "/api/v1/threads/{thread_id}/nurse-answer/",
        params=t,
        body={**answer, "preview_digest": preview["preview_digest"]},
        status=201,
    )
    call(
        "nurse",
        "POST",
        "/api/v1/posts/{post_id}/correction/",
        params={"post_id": published["id"]},
        body={**answer, "body": "Treatment depends on earlier treatment.", "reason": "Clearer"},
        status=200,
    )
    call("nurse", "POST", "/api/v1/threads/{thread_id}/close/", params=t, body={}, status=200)
    call("nurse", "POST", "/api/v1/threads/{thread_id}/reopen/", params=t, body={}, status=200)

    # A member flags a post; moderators work the queue and act on posts, threads, members.
    flagged = call(
        "member",
        "POST",
        "/api/v1/posts/{post_id}/flags/",
        params=reply,
        body={"reason": "misinformation", "note": "Says it cures cancer"},
        status=201,
    )
    assert flagged["support"] is None
    queue = call(
        "moderator",
        "GET",
        "/api/v1/moderation/queue/",
        query={"reason": "misinformation"},
        status=200,
    )
    item = {"item_id": queue["results"][0]["id"]}
    call(
        "moderator",
        "POST",
        "/api/v1/moderation/queue/{item_id}/claim/",
        params=item,
        body={},
        status=200,
    )
    call(
        "moderator",
        "POST",
        "/api/v1/moderation/queue/{item_id}/resolve/",
        params=item,
        body={"action": "dismiss", "note": "Accurate"},
        status=200,
    )
    call(
        "moderator",
        "POST",
        "/api/v1/posts/{post_id}/hide/",
        params=reply,
        body={"reason": "Check"},
        status=200,
    )
    call("moderator", "POST", "/api/v1/posts/{post_id}/restore/", params=reply, body={}, status=200)
    call(
        "moderator",
        "POST",
        "/api/v1/threads/{thread_id}/move/",
        params={"thread_id": created["id"]},
        body={"category": "ask-our-nurses", "reason": "A question for the nurses"},
        status=200,
    )
    other = {"member_id": User.objects.get(email="conform-other@haven.test").pk}
    until = (timezone.now() + timedelta(days=1)).isoformat()
    members = "/api/v1/moderation/members/{member_id}"
    call(
        "moderator",
        "POST",
        f"{members}/suspend/",
        params=other,
        body={"until": until, "reason": "Abuse"},
        status=200,
    )
    call("moderator", "POST", f"{members}/unsuspend/", params=other, body={}, status=200)
    call(
        "moderator",
        "POST",
        f"{members}/premoderate/",
        params=other,
        body={"until": None},
        status=200,
    )
    call("moderator", "POST", f"{members}/release/", params=other, body={}, status=200)

    # Last: the member erases her account (her posts stay, as "Former member").
    call(
        "member",
        "DELETE",
        "/api/v1/me/",
        body={"password": PASSWORD, "delete_posts": False},
        status=204,
    )

    assert Post.objects.filter(pk=published["id"], kind=Post.Kind.NURSE_ANSWER).exists()
    assert sorted(set(API) - covered) == []
