"""Erasing an account leaves no trace of the person: every column of every table, and Redis.

Zephyrine Quill does everything a member does, is written about by staff, signs in on two
devices, asks for a password reset and an address change; then she erases her account.
Afterwards no text, JSON or binary column anywhere in the database, and no key or value in
this suite's Redis database, holds her email address or her name, in any case.
"""

import pytest
import redis
from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import Mute, User
from accounts.roles import Role
from core.audit import audit_record
from core.models import AuditEntry
from forum.models import Like, Notification, Post, PostRevision, Subscription, Thread
from forum.services import post_edit, post_hide, post_like, thread_follow
from moderation.models import Flag
from moderation.review import review_raise
from tests.factories import PASSWORD, CategoryFactory, UserFactory, make_reply, make_thread

pytestmark = pytest.mark.django_db

EMAIL = "zq-7f3a@example.org"
NEW_EMAIL = "zq-7f3a-new@example.org"
NAME = "Zephyrine Quill"
# What would identify her: each address and her name, and the parts of them.
NEEDLES = ["zq-7f3a", "zephyrine", "quill"]
APP = "/_allauth/app/v1"


def _text_columns() -> list[tuple[str, str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.table_name, c.column_name, c.data_type
            FROM information_schema.columns c
            JOIN information_schema.tables t
              ON t.table_schema = c.table_schema AND t.table_name = c.table_name
            WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'
              AND c.data_type IN ('text', 'character varying', 'character', 'json', 'jsonb',
                                  'bytea', 'tsvector', 'ARRAY', 'USER-DEFINED')
            """
        )
        return list(cursor.fetchall())


def database_traces(needles: list[str]) -> list[tuple[str, str, str]]:
    """Every (table, column, needle) where some row's value contains a needle, any case."""
    found = []
    with connection.cursor() as cursor:
        for table, column, data_type in _text_columns():
            value = f'"{column}"::text'
            if data_type == "bytea":
                value = f"encode(\"{column}\", 'escape')"
            for needle in needles:
                cursor.execute(
                    f'SELECT 1 FROM "{table}" WHERE {value} ILIKE %s LIMIT 1',  # noqa: S608
                    [f"%{needle}%"],
                )
                if cursor.fetchone():
                    found.append((table, column, needle))
    return found


def redis_traces(needles: list[str]) -> list[tuple[bytes, str]]:
    """Every key of this suite's Redis database whose name or value holds a needle."""
    client = redis.Redis.from_url(settings.CACHES["default"]["LOCATION"])
    found = []
    try:
        for key in client.scan_iter(count=1000):
            kind = client.type(key).decode()
            if kind == "string":
                values = [client.get(key) or b""]
            elif kind == "list":
                values = client.lrange(key, 0, -1)
            elif kind == "hash":
                values = [b"%s=%s" % pair for pair in client.hgetall(key).items()]
            elif kind == "set":
                values = list(client.smembers(key))
            elif kind == "zset":
                values = client.zrange(key, 0, -1)
            else:
                values = []
            blob = b"\n".join([key, *values]).lower()
            found += [(key, n) for n in needles if n.encode() in blob]
    finally:
        client.close()
    return found


def _sign_in(email: str) -> str:
    response = APIClient().post(
        f"{APP}/auth/login", {"email": email, "password": PASSWORD}, format="json"
    )
    assert response.status_code == 200, response.content
    return str(response.json()["meta"]["session_token"])


@pytest.fixture
def life():
    """Zephyrine's life on the forum, and everyone around her."""
    zq = UserFactory(email=EMAIL, display_name=NAME)
    other = UserFactory(display_name="Bonnie52")
    third = UserFactory(display_name="Larkspur")
    moderator = UserFactory(display_name="Mod One", role=Role.MODERATOR)
    nurse = UserFactory(display_name="Nurse Private", role=Role.NURSE)
    category = CategoryFactory(slug="living-with")

    hers = make_thread(author=zq, category=category, title="Fatigue after radiotherapy")
    lonely = make_thread(author=zq, category=category, title="Anyone else awake at night")
    theirs = make_thread(author=other, category=category, title="Scanxiety tips")
    their_reply = make_reply(author=third, thread=theirs, body="Breathing exercises help me.")
    make_reply(author=other, thread=hers, body="Yes, it lasted months for me.")
    her_reply = make_reply(author=zq, thread=theirs, body="Long walks, and a good playlist.")
    hidden = make_reply(author=zq, thread=theirs, body="Something a moderator hid.")
    Post.objects.filter(pk=hidden.pk).update(status=Post.Status.HIDDEN)
    post_like(user=zq, post=their_reply)
    post_like(user=other, post=her_reply)
    post_like(user=third, post=her_reply)
    thread_follow(user=zq, thread=theirs)
    make_reply(author=third, thread=theirs, body="Thank you both.")  # notifies her
    # Staff about her: an edit with a revision, an audited action, the admin's own log.
    post_edit(
        user=moderator,
        post=her_reply,
        body="Long walks, and music.",
        reason=f"Removed a link for {NAME}",
    )
    audit_record(
        actor=moderator,
        action="member_warned",
        target=zq,
        reason=f"Warned {NAME} ({EMAIL}) about links",
        data={"email": EMAIL, "display_name": NAME},
    )
    LogEntry.objects.create(
        user=moderator,
        content_type=ContentType.objects.get_for_model(User),
        object_id=str(zq.pk),
        object_repr=str(zq),
        action_flag=CHANGE,
        change_message=f'[{{"changed": {{"fields": ["Display name"], "name": "{NAME}"}}}}]',
    )
    # Flags both ways, and mutes both ways.
    item = review_raise(post=their_reply, reasons=["other"])
    Flag.objects.create(
        post=their_reply, flagger=zq, review_item=item, reason="other", note=f"{NAME}: odd link"
    )
    on_hers = review_raise(post=her_reply, reasons=["spam"])
    Flag.objects.create(
        post=her_reply,
        flagger=other,
        review_item=on_hers,
        reason="spam",
        note=f"{NAME} ({EMAIL}) keeps posting this",
    )
    # Others' records that name her: a moderator hides someone else's post, telling its
    # author why, with a note and a reason naming her (word-bound: "annual" survives).
    named = make_reply(author=third, thread=theirs, body="Tagging someone here.")
    post_hide(
        actor=moderator,
        post=named,
        reason=f"Complaint from {NAME}",
        note=f"Please leave {NAME} out of this. Annual reminder: be kind.",
    )
    Mute.objects.create(user=zq, muted=other)
    Mute.objects.create(user=third, muted=zq)
    # Sessions on two devices, a password reset and an address change asked for.
    token = _sign_in(EMAIL)
    browser = Client()
    assert (
        browser.post(
            "/_allauth/browser/v1/auth/login",
            {"email": EMAIL, "password": PASSWORD},
            content_type="application/json",
        ).status_code
        == 200
    )
    assert (
        APIClient()
        .post(f"{APP}/auth/password/request", {"email": EMAIL}, format="json")
        .status_code
        == 200
    )
    assert (
        APIClient()
        .post(
            f"{APP}/account/email", {"email": NEW_EMAIL}, format="json", HTTP_X_SESSION_TOKEN=token
        )
        .status_code
        == 200
    )
    assert EmailAddress.objects.filter(user=zq, email=NEW_EMAIL).exists()
    assert Notification.objects.filter(recipient=zq).exists()
    assert Notification.objects.filter(actor=zq).exists()
    assert database_traces(NEEDLES), "the scan must see her before the erasure"
    assert redis_traces(["zq-7f3a"]), "her session is cached: the scan must see it"
    others_posts = dict(
        Post.objects.exclude(author=zq).exclude(author=None).values_list("pk", "body")
    )
    return {
        "zq": zq,
        "other": other,
        "third": third,
        "token": token,
        "browser": browser,
        "hers": hers,
        "lonely": lonely,
        "theirs": theirs,
        "her_reply": her_reply,
        "others_posts": others_posts,
        "nurse": nurse,
    }


def _assert_counters_match_a_recount() -> None:
    for post in Post.objects.all():
        assert post.like_count == Like.objects.filter(post=post).count(), post
    for thread in Thread.objects.all():
        posts = Post.objects.filter(thread=thread).order_by("created_at", "id")
        opening = posts.first()
        visible = posts.filter(status=Post.Status.VISIBLE)
        replies = visible.exclude(kind=Post.Kind.SYSTEM).exclude(pk=opening.pk).count()
        assert thread.reply_count == replies, thread
        assert thread.like_count == sum(p.like_count for p in visible), thread


@pytest.mark.parametrize("delete_posts", [False, True])
def test_erasing_leaves_nothing_of_her_anywhere(life, delete_posts):
    zq = life["zq"]
    response = APIClient().delete(
        "/api/v1/me/",
        {"password": PASSWORD, "delete_posts": delete_posts},
        format="json",
        HTTP_X_SESSION_TOKEN=life["token"],
    )
    assert response.status_code == 204, response.content

    assert database_traces(NEEDLES) == []
    assert redis_traces(NEEDLES) == []

    zq.refresh_from_db()
    assert zq.erased_at is not None
    assert not zq.is_active and not zq.has_usable_password()
    assert zq.display_name == "Former member"
    assert not EmailAddress.objects.filter(user=zq).exists()
    assert not [
        s for s in Session.objects.all() if str(s.get_decoded().get("_auth_user_id")) == str(zq.pk)
    ]
    for model, field in [(Like, "user"), (Subscription, "user"), (Notification, "recipient")]:
        assert not model.objects.filter(**{field: zq}).exists(), model
    assert not Notification.objects.filter(actor=zq).exists()
    assert not Mute.objects.filter(user=zq).exists()
    assert not Mute.objects.filter(muted=zq).exists()
    flag = Flag.objects.get(post__thread=life["theirs"], reason="other")
    assert flag.flagger is None and flag.note == "[erased]: odd link"  # kept, anonymised
    # What others wrote about her keeps what happened, without her name.
    told = Notification.objects.get(kind="post_hidden")
    assert told.note == "Please leave [erased] out of this. Annual reminder: be kind."
    assert AuditEntry.objects.get(action="post_hidden").reason == "Complaint from [erased]"
    assert Flag.objects.get(reason="spam").note == "[erased] ([erased]) keeps posting this"
    entry = AuditEntry.objects.get(action="member_warned")
    assert entry.target_id == zq.pk and entry.reason == "Warned [erased] ([erased]) about links"
    erased = AuditEntry.objects.get(action="member_erased")
    assert erased.target_id == zq.pk
    assert erased.data == {"delete_posts": delete_posts, "by": "self"}

    # She can no longer sign in, and her sessions are over, on every device.
    login = APIClient().post(
        f"{APP}/auth/login", {"email": EMAIL, "password": PASSWORD}, format="json"
    )
    assert login.status_code == 400
    assert APIClient().get("/api/v1/me/", HTTP_X_SESSION_TOKEN=life["token"]).status_code == 401
    assert life["browser"].get("/api/v1/me/").status_code in (401, 403)

    # Everyone else's words are untouched; every counter equals a recount.
    assert (
        dict(Post.objects.filter(pk__in=life["others_posts"]).values_list("pk", "body"))
        == life["others_posts"]
    )
    _assert_counters_match_a_recount()

    reader = APIClient()
    theirs = reader.get(f"/api/v1/threads/{life['theirs'].pk}/posts/").json()["results"]
    mine = [p for p in theirs if p["id"] == life["her_reply"].pk]
    if delete_posts:
        assert mine[0]["body"] == ""
        assert not PostRevision.objects.filter(post=life["her_reply"]).exists()
        hers = Thread.objects.get(pk=life["hers"].pk)
        assert hers.title == "Deleted thread"
        assert hers.visibility == Thread.Visibility.VISIBLE  # Bonnie52 replied in it
        lonely = Thread.objects.get(pk=life["lonely"].pk)
        assert lonely.visibility == Thread.Visibility.HIDDEN
        assert reader.get(f"/api/v1/threads/{lonely.pk}/").status_code == 404
    else:
        assert mine[0]["body"] == "Long walks, and music."
        assert mine[0]["author"] == {
            "id": None,
            "display_name": "Former member",
            "role": "member",
            "title": None,
        }
        thread = reader.get(f"/api/v1/threads/{life['hers'].pk}/").json()
        assert thread["title"] == "Fatigue after radiotherapy"
        assert thread["author"]["display_name"] == "Former member"
        assert thread["author"]["id"] is None


def test_a_wrong_password_erases_nothing(life):
    response = APIClient().delete(
        "/api/v1/me/",
        {"password": "not-her-password", "delete_posts": True},
        format="json",
        HTTP_X_SESSION_TOKEN=life["token"],
    )
    assert response.status_code == 400
    assert response.json()["fields"] == {"password": ["The password is not correct."]}
    zq = User.objects.get(pk=life["zq"].pk)
    assert zq.email == EMAIL and zq.is_active and zq.erased_at is None
    assert APIClient().get("/api/v1/me/", HTTP_X_SESSION_TOKEN=life["token"]).status_code == 200


def test_a_nurse_erasing_herself_leaves_her_answers_under_her_title(life):
    nurse = life["nurse"]
    thread = life["theirs"]
    answer = Post.objects.create(
        thread=thread,
        author=nurse,
        author_role=Role.NURSE,
        author_title="Breast Care Nurse",
        kind=Post.Kind.NURSE_ANSWER,
        body="Fatigue is common; pace yourself.",
        body_html="<p>Fatigue is common; pace yourself.</p>",
    )
    from accounts.privacy import member_erase

    member_erase(user=nurse, delete_posts=True)
    answer.refresh_from_db()
    assert answer.status == Post.Status.VISIBLE
    assert answer.body == "Fatigue is common; pace yourself."
    assert answer.author_title == "Breast Care Nurse"
