"""Export my data, and erasure from the admin: what each gives, costs and records."""

import json

import pytest
from django.apps import apps
from django.conf import settings
from django.db import models

from accounts.models import Mute, User
from accounts.privacy import member_erase, member_export
from accounts.roles import Role
from core.audit import audit_record
from core.models import AuditEntry
from forum.models import Like, Post, Thread
from forum.services import post_create, post_edit, post_like, thread_follow
from moderation.models import Flag
from moderation.review import review_raise
from tests.factories import PASSWORD, CategoryFactory, UserFactory, make_reply, make_thread
from tests.utils import client_for

pytestmark = pytest.mark.django_db

EXPORT = "/api/v1/me/export/"


def _busy_member(n: int, *, member: User | None = None) -> User:
    """A member with ``n`` of everything: threads, replies, likes, follows, flags, mutes,
    notifications received, revisions of her posts."""
    member = member or UserFactory(display_name="Heron")
    other = UserFactory()
    moderator = UserFactory(role=Role.MODERATOR)
    category = CategoryFactory()
    for i in range(n):
        mine = make_thread(author=member, category=category, title=f"My question {i}")
        theirs = make_thread(author=other, category=category, title=f"Their question {i}")
        make_reply(author=other, thread=mine, body="A reply that notifies her.")
        reply = post_create(author=member, thread=theirs, body=f"My reply {i}")
        post_edit(user=moderator, post=reply, body=f"My reply {i}, edited", reason="Tidy")
        opening = Post.objects.filter(thread=theirs).order_by("pk").first()
        post_like(user=member, post=opening)
        thread_follow(user=member, thread=theirs)
        item = review_raise(post=opening, reasons=["spam"])
        Flag.objects.create(post=opening, flagger=member, review_item=item, reason="spam")
        Mute.objects.create(user=member, muted=UserFactory())
    return member


def test_the_export_holds_everything_she_stored_and_nothing_of_anyone_else():
    member = _busy_member(2)
    moderator = User.objects.get(role=Role.MODERATOR)
    flagger = UserFactory(email="flagger-private@haven.test", display_name="Secret Flagger")
    her_post = Post.objects.filter(author=member).order_by("pk").first()
    Flag.objects.create(
        post=her_post,
        flagger=flagger,
        review_item=review_raise(post=her_post, reasons=["other"]),
        reason="other",
    )
    audit_record(actor=moderator, action="member_warned", target=member, reason="Be kind")
    hidden = post_create(author=member, thread=her_post.thread, body="Held back by a moderator")
    Post.objects.filter(pk=hidden.pk).update(status=Post.Status.HIDDEN)

    response = client_for(member).get(EXPORT)

    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="haven-export-')
    export = response.json()
    assert set(export) == {
        "exported_at",
        "profile",
        "email_addresses",
        "mutes",
        "account_records",
        "threads",
        "posts",
        "post_revisions",
        "likes",
        "follows",
        "notifications",
        "flags",
    }
    assert export["profile"]["email"] == member.email
    assert export["profile"]["display_name"] == "Heron"
    assert export["email_addresses"] == [{"email": member.email, "verified": True, "primary": True}]
    assert len(export["threads"]) == 2
    assert len(export["posts"]) == 2 + 2 + 1  # openings, replies, the hidden one
    assert export["posts"][-1]["status"] == "hidden"
    assert export["posts"][-1]["body"] == "Held back by a moderator"
    assert [r["body"] for r in export["post_revisions"]] == ["My reply 0", "My reply 1"]
    assert {r["edited_by_role"] for r in export["post_revisions"]} == {"moderator"}
    assert len(export["likes"]) == len(export["flags"]) == 2
    assert len(export["follows"]) == 4  # her own threads, and the ones she follows
    assert len(export["mutes"]) == 2
    assert {n["kind"] for n in export["notifications"]} == {"reply"}
    assert export["account_records"][0]["action"] == "member_warned"
    assert export["account_records"][0]["reason"] == "Be kind"
    text = json.dumps(export)
    # Nobody else's personal data: not who flagged her, not the moderator, no other email.
    for private in (flagger.email, "Secret Flagger", moderator.email, moderator.display_name):
        assert private not in text
    assert text.count("@") == 2  # her address, in her profile and her addresses


def test_the_export_costs_the_same_queries_for_2_or_20_of_everything(django_assert_num_queries):
    small, large = _busy_member(2), _busy_member(20, member=UserFactory(display_name="Egret"))
    counts = []
    for member in (small, large):
        with django_assert_num_queries(13) as captured:
            export = member_export(member)
        counts.append(len(captured))
        assert len(export["posts"]) in (4, 40)
    assert counts[0] == counts[1]


def test_the_export_needs_a_signed_in_member_and_is_throttled(api_client, settings):
    assert api_client.get(EXPORT).status_code == 401
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "export": "2/hour",
        },
    }
    client = client_for(UserFactory())
    assert [client.get(EXPORT).status_code for _ in range(3)] == [200, 200, 429]


def test_a_suspended_or_unverified_member_still_exports_and_erases():
    from django.utils import timezone

    suspended = UserFactory()
    User.objects.filter(pk=suspended.pk).update(suspended_indefinitely=True)
    suspended.refresh_from_db()
    assert suspended.is_suspended
    client = client_for(suspended)
    assert client.get(EXPORT).status_code == 200
    response = client.delete("/api/v1/me/", {"password": PASSWORD}, format="json")
    assert response.status_code == 204
    assert User.objects.get(pk=suspended.pk).erased_at <= timezone.now()


def test_erasing_is_throttled_so_a_password_cannot_be_guessed(settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "erase": "3/hour",
        },
    }
    client = client_for(UserFactory())
    answers = [
        client.delete("/api/v1/me/", {"password": f"guess-{i}"}, format="json").status_code
        for i in range(4)
    ]
    assert answers == [400, 400, 400, 429]


def test_erasing_twice_changes_nothing_and_audits_once():
    member = _busy_member(1)
    first = member_erase(user=member)
    again = member_erase(user=member, delete_posts=True)
    assert again.erased_at == first.erased_at
    assert AuditEntry.objects.filter(action="member_erased").count() == 1
    assert Post.objects.filter(author=member, status=Post.Status.DELETED).count() == 0


def test_likes_she_gave_are_removed_and_the_counters_recounted():
    member, other = UserFactory(), UserFactory()
    thread = make_thread(author=other)
    opening = Post.objects.get(thread=thread)
    post_like(user=member, post=opening)
    post_like(user=UserFactory(), post=opening)
    member_erase(user=member)
    opening.refresh_from_db()
    assert opening.like_count == Like.objects.filter(post=opening).count() == 1
    assert Thread.objects.get(pk=thread.pk).like_count == 1


# --- The admin ---------------------------------------------------------------------------


def test_an_admin_erases_members_after_a_confirmation_page(admin_client):
    member = _busy_member(1)
    changelist = "/admin/accounts/user/"
    chosen = {"action": "erase_members", "_selected_action": [member.pk]}
    confirm = admin_client.post(changelist, chosen)
    assert confirm.status_code == 200
    assert "Erase 1 member?" in confirm.content.decode()
    assert User.objects.get(pk=member.pk).erased_at is None  # nothing yet

    done = admin_client.post(changelist, {**chosen, "confirmed": "yes", "delete_posts": "on"})
    assert done.status_code == 302
    member.refresh_from_db()
    assert member.erased_at is not None and member.display_name == "Former member"
    assert not Post.objects.filter(author=member, status=Post.Status.VISIBLE).exists()
    entry = AuditEntry.objects.get(action="member_erased")
    assert entry.actor_id == admin_client.admin.pk
    assert entry.target_id == member.pk
    assert entry.data == {"delete_posts": True, "by": "admin"}
    assert entry.reason == ""


def test_only_superusers_are_offered_erasure(client):
    moderator = UserFactory(role=Role.MODERATOR, is_staff=True)
    User.objects.filter(pk=moderator.pk).update(is_staff=True)
    moderator.user_permissions.add(*_user_admin_permissions())
    client.force_login(moderator)
    member = UserFactory()
    page = client.get("/admin/accounts/user/")
    assert page.status_code == 200
    assert "erase_members" not in page.content.decode()
    client.post(
        "/admin/accounts/user/",
        {"action": "erase_members", "_selected_action": [member.pk], "confirmed": "yes"},
    )
    assert User.objects.get(pk=member.pk).erased_at is None


def _user_admin_permissions():
    from django.contrib.auth.models import Permission

    return Permission.objects.filter(
        content_type__app_label="accounts", codename__in=["view_user", "change_user"]
    )


# --- Completeness ------------------------------------------------------------------------

# Every (model, field) pointing at a user is exported, or here with the reason it is not
# the member's personal data (or is exported through another section).
EXPORTED = {
    ("forum.Thread", "author"): "threads",
    ("forum.Post", "author"): "posts",
    ("forum.Like", "user"): "likes",
    ("forum.Subscription", "user"): "follows",
    ("forum.Notification", "recipient"): "notifications",
    ("accounts.Mute", "user"): "mutes",
    ("moderation.Flag", "flagger"): "flags",
    ("account.EmailAddress", "user"): "email_addresses",
}
NOT_PERSONAL = {
    ("forum.Thread", "closed_by"): "staff work, shown under a staff title; the record of who",
    ("forum.PostRevision", "editor"): "a staff edit of someone's post: the text is exported "
    "to the post's author (post_revisions)",
    ("forum.Notification", "actor"): "who caused someone else's notification: theirs",
    ("accounts.Mute", "muted"): "who muted her is the muting member's private choice",
    ("moderation.ReviewItem", "claimed_by"): "staff work on the queue",
    ("moderation.ReviewItem", "resolved_by"): "staff work on the queue",
    ("moderation.NurseAnswer", "nurse"): "published under the nurses' title, never personal",
    ("moderation.SignpostingTemplateVersion", "created_by"): "staff editing a template",
    ("admin.LogEntry", "user"): "staff actions in the admin",
}


def _user_fields() -> set[tuple[str, str]]:
    user_model = apps.get_model(settings.AUTH_USER_MODEL)
    found = set()
    for model in apps.get_models():
        if model._meta.proxy:  # its concrete model's fields are checked
            continue
        for field in model._meta.get_fields():
            if (
                isinstance(field, (models.ForeignKey, models.OneToOneField, models.ManyToManyField))
                and field.related_model is user_model
                and not field.auto_created
            ):
                found.add((model._meta.label, field.name))
    return found


def test_every_model_pointing_at_a_user_is_exported_or_explained():
    """A new model with a user foreign key fails here until it is exported or explained."""
    fields = _user_fields()
    assert fields == set(EXPORTED) | set(NOT_PERSONAL), (
        "unaccounted for:",
        fields - set(EXPORTED) - set(NOT_PERSONAL),
        "gone:",
        set(EXPORTED) | set(NOT_PERSONAL) - fields,
    )
    sections = set(member_export(UserFactory()))
    assert set(EXPORTED.values()) <= sections
