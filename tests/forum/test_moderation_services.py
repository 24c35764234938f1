"""The forum's moderation services: every transition's effect on what is shown, counted,
found and told, and who may make it."""

import pytest
from django.db.models import Count, Q, Sum

from accounts.models import User
from accounts.roles import Role
from core.errors import Conflict, Forbidden
from core.models import AuditEntry
from forum.models import Category, Notification, Post, Subscription, Thread
from forum.search import threads_matching
from forum.services import (
    post_create,
    post_hide,
    post_hold_approve,
    post_hold_reject,
    post_like,
    post_restore,
    thread_move,
)
from tests.factories import CategoryFactory, UserFactory, make_reply, make_thread, run_fan_out

pytestmark = pytest.mark.django_db


@pytest.fixture
def moderator() -> User:
    return UserFactory(display_name="Mod Squad", role=Role.MODERATOR)


@pytest.fixture
def author() -> User:
    return UserFactory(display_name="Sparrowhawk")


@pytest.fixture
def follower() -> User:
    return UserFactory(display_name="Bonnie52")


@pytest.fixture
def thread(author: User, follower: User) -> Thread:
    thread = make_thread(author=author, title="Living with fatigue", body="Opening words")
    Subscription.objects.create(user=follower, thread=thread)
    return thread


def _premoderate(user: User) -> None:
    User.objects.filter(pk=user.pk).update(premoderated_indefinitely=True)
    user.refresh_from_db()


def _held_reply(author: User, thread: Thread, body: str = "A held zebrafish reply") -> Post:
    _premoderate(author)
    post = post_create(author=author, thread=thread, body=body)
    User.objects.filter(pk=author.pk).update(premoderated_indefinitely=False)
    author.refresh_from_db()
    assert post.status == Post.Status.PENDING
    return post


def _held_thread(author: User, category: Category | None = None) -> Thread:
    _premoderate(author)
    thread = make_thread(author=author, category=category, title="Held question", body="Kelpie")
    User.objects.filter(pk=author.pk).update(premoderated_indefinitely=False)
    author.refresh_from_db()
    return thread


def _assert_counters_match_a_recount(thread: Thread) -> None:
    thread.refresh_from_db()
    opening = Post.objects.filter(thread=thread).order_by("created_at", "id").first()
    visible = Post.objects.filter(thread=thread, status=Post.Status.VISIBLE)
    totals = visible.aggregate(
        replies=Count("id", filter=~Q(kind=Post.Kind.SYSTEM) & ~Q(pk=opening.pk)),
        likes=Sum("like_count"),
    )
    assert thread.reply_count == totals["replies"]
    assert thread.like_count == (totals["likes"] or 0)


def _found(word: str) -> list[int]:
    visible = Thread.objects.filter(visibility=Thread.Visibility.VISIBLE)
    return list(threads_matching(visible, word).values_list("pk", flat=True))


def _told(user: User, kind: Notification.Kind) -> list[Notification]:
    return list(Notification.objects.filter(recipient=user, kind=kind))


def _audit(action: str, post: Post) -> AuditEntry:
    return AuditEntry.objects.for_target(post).get(action=action)


# --- Hide and restore ----------------------------------------------------------------------


def test_hiding_a_reply_takes_it_out_of_counts_and_search_and_tells_the_author(
    thread, author, follower, moderator
):
    reply = make_reply(author=follower, thread=thread, body="Try the ocelot stretches")
    post_like(user=author, post=reply)
    assert _found("ocelot") == [thread.pk]

    post_hide(actor=moderator, post=reply, reason="Off-topic", note="Please stay on topic.")

    reply.refresh_from_db()
    assert reply.status == Post.Status.HIDDEN
    thread.refresh_from_db()
    assert thread.visibility == Thread.Visibility.VISIBLE  # a reply never carries its thread
    assert (thread.reply_count, thread.like_count) == (0, 0)
    _assert_counters_match_a_recount(thread)
    assert _found("ocelot") == []
    [told] = _told(follower, Notification.Kind.POST_HIDDEN)
    assert (told.note, told.actor_id, told.email) == ("Please stay on topic.", None, "pending")
    entry = _audit("post_hidden", reply)
    assert (entry.actor_id, entry.reason) == (moderator.pk, "Off-topic")
    assert entry.data == {"was": "visible", "by_flags": False}

    post_restore(actor=moderator, post=reply, reason="Fine after all")

    reply.refresh_from_db()
    thread.refresh_from_db()
    assert reply.status == Post.Status.VISIBLE
    assert (thread.reply_count, thread.like_count) == (1, 1)
    _assert_counters_match_a_recount(thread)
    assert _found("ocelot") == [thread.pk]
    assert _audit("post_restored", reply).reason == "Fine after all"


def test_hiding_an_opening_post_hides_its_thread_and_restoring_shows_it(thread, moderator):
    opening = Post.objects.get(thread=thread)
    post_hide(actor=moderator, post=opening, reason="Spam")
    thread.refresh_from_db()
    assert thread.visibility == Thread.Visibility.HIDDEN
    post_restore(actor=moderator, post=opening)
    thread.refresh_from_db()
    assert thread.visibility == Thread.Visibility.VISIBLE


def test_the_flag_threshold_hides_without_an_actor(thread, follower):
    reply = post_create(author=follower, thread=thread, body="Flagged three times")
    post_hide(actor=None, post=reply, reason="flags")
    entry = _audit("post_hidden", reply)
    assert entry.actor_id is None
    assert entry.data["by_flags"] is True
    assert len(_told(follower, Notification.Kind.POST_HIDDEN)) == 1


def test_a_moderator_hiding_her_own_post_is_not_told(thread, moderator):
    own = post_create(author=moderator, thread=thread, body="Moderator's note")
    post_hide(actor=moderator, post=own)
    assert _told(moderator, Notification.Kind.POST_HIDDEN) == []


def test_hiding_twice_restoring_a_visible_post_and_touching_deleted_ones_conflict(
    thread, follower, moderator
):
    reply = post_create(author=follower, thread=thread, body="Some words")
    with pytest.raises(Conflict) as restored:
        post_restore(actor=moderator, post=reply)
    assert restored.value.code == "not_hidden"
    post_hide(actor=moderator, post=reply)
    with pytest.raises(Conflict) as again:
        post_hide(actor=moderator, post=reply)
    assert again.value.code == "already_hidden"
    Post.objects.filter(pk=reply.pk).update(status=Post.Status.DELETED)
    with pytest.raises(Conflict) as deleted:
        post_hide(actor=moderator, post=reply)
    assert deleted.value.code == "post_deleted"
    assert AuditEntry.objects.filter(action="post_hidden").count() == 1


def test_notices_are_never_hidden(thread, moderator):
    notice = Post.objects.create(thread=thread, kind=Post.Kind.SYSTEM, body="x", body_html="x")
    with pytest.raises(Forbidden) as refused:
        post_hide(actor=moderator, post=notice)
    assert refused.value.code == "not_moderatable"


@pytest.mark.parametrize("role", [Role.MEMBER, Role.NURSE])
def test_only_moderators_hide_restore_approve_reject_and_move(thread, follower, role):
    someone = UserFactory(role=role)
    reply = post_create(author=follower, thread=thread, body="Fine words")
    other = CategoryFactory()
    for act in (
        lambda: post_hide(actor=someone, post=reply),
        lambda: post_restore(actor=someone, post=reply),
        lambda: post_hold_approve(actor=someone, post=reply),
        lambda: post_hold_reject(actor=someone, post=reply),
        lambda: thread_move(actor=someone, thread=thread, category=other),
    ):
        with pytest.raises(Forbidden) as refused:
            act()
        assert refused.value.code == "not_allowed"
    reply.refresh_from_db()
    assert reply.status == Post.Status.VISIBLE
    assert (
        not AuditEntry.objects.filter(actor_id=someone.pk).exclude(action="role_changed").exists()
    )


def test_a_suspended_moderator_cannot_moderate(thread, follower, moderator):
    reply = post_create(author=follower, thread=thread, body="Fine words")
    User.objects.filter(pk=moderator.pk).update(suspended_indefinitely=True)
    moderator.refresh_from_db()
    with pytest.raises(Forbidden) as refused:
        post_hide(actor=moderator, post=reply)
    assert refused.value.code == "suspended"


# --- Held posts: approve and reject ------------------------------------------------------


def test_approving_a_held_reply_publishes_counts_indexes_and_only_now_tells_followers(
    thread, author, follower, moderator
):
    reply = _held_reply(follower, thread)
    thread.refresh_from_db()
    before = thread.last_activity_at
    assert thread.reply_count == 0
    assert _found("zebrafish") == []
    assert _told(author, Notification.Kind.REPLY) == []

    post_hold_approve(actor=moderator, post=reply, note="Thanks for waiting")
    run_fan_out()  # its job, after the commit: followers told, the reply indexed

    reply.refresh_from_db()
    thread.refresh_from_db()
    assert reply.status == Post.Status.VISIBLE
    assert thread.reply_count == 1
    _assert_counters_match_a_recount(thread)
    assert thread.last_activity_at > before
    assert _found("zebrafish") == [thread.pk]
    # The thread's author follows it: told of the reply now; the reply's author is told it
    # was approved, with the note, and is never told of her own reply.
    assert [n.actor_id for n in _told(author, Notification.Kind.REPLY)] == [follower.pk]
    assert _told(follower, Notification.Kind.REPLY) == []
    [approved] = _told(follower, Notification.Kind.POST_APPROVED)
    assert approved.note == "Thanks for waiting"
    assert _audit("post_approved", reply).actor_id == moderator.pk


def test_approving_a_held_question_publishes_its_thread_and_only_now_tells_nurses(
    author, moderator
):
    nurse = UserFactory(role=Role.NURSE)
    asking = CategoryFactory(nurse_answered=True)
    thread = _held_thread(author, category=asking)
    opening = Post.objects.get(thread=thread)
    assert thread.visibility == Thread.Visibility.PENDING
    assert _told(nurse, Notification.Kind.NEW_QUESTION) == []

    post_hold_approve(actor=moderator, post=opening)
    run_fan_out()  # its job, after the commit: the nurses told, the question indexed

    thread.refresh_from_db()
    assert thread.visibility == Thread.Visibility.VISIBLE
    assert thread.reply_count == 0
    assert _found("kelpie") == [thread.pk]
    assert len(_told(nurse, Notification.Kind.NEW_QUESTION)) == 1
    assert len(_told(author, Notification.Kind.POST_APPROVED)) == 1
    assert _told(author, Notification.Kind.REPLY) == []


def test_rejecting_a_held_reply_hides_it_and_tells_the_author_why(
    thread, author, follower, moderator
):
    reply = _held_reply(follower, thread)
    long_note = "Please read our guidelines. " * 30  # over a reason's 500 characters
    post_hold_reject(actor=moderator, post=reply, note=long_note)
    reply.refresh_from_db()
    thread.refresh_from_db()
    assert reply.status == Post.Status.HIDDEN
    assert thread.reply_count == 0
    assert _found("zebrafish") == []
    [rejected] = _told(follower, Notification.Kind.POST_REJECTED)
    assert rejected.note == long_note.strip()
    assert _told(follower, Notification.Kind.POST_HIDDEN) == []
    assert _told(author, Notification.Kind.REPLY) == []
    entry = _audit("post_hidden", reply)
    assert entry.data["was"] == "pending"
    assert entry.reason == long_note.strip()


def test_rejecting_a_held_question_hides_its_thread(author, moderator):
    thread = _held_thread(author)
    post_hold_reject(actor=moderator, post=Post.objects.get(thread=thread), note="No")
    thread.refresh_from_db()
    assert thread.visibility == Thread.Visibility.HIDDEN


def test_approve_and_reject_only_held_posts(thread, follower, moderator):
    reply = post_create(author=follower, thread=thread, body="Already visible")
    for act in (post_hold_approve, post_hold_reject):
        with pytest.raises(Conflict) as refused:
            act(actor=moderator, post=reply)
        assert refused.value.code == "not_pending"
    held = _held_reply(follower, thread)
    post_hold_approve(actor=moderator, post=held)
    with pytest.raises(Conflict):
        post_hold_approve(actor=moderator, post=held)
    assert len(_told(follower, Notification.Kind.POST_APPROVED)) == 1


def test_each_decision_about_a_post_is_its_own_notice(thread, follower, moderator):
    reply = post_create(author=follower, thread=thread, body="Words")
    post_hide(actor=moderator, post=reply, note="first")
    post_restore(actor=moderator, post=reply)
    post_hide(actor=moderator, post=reply, note="second")
    notes = [n.note for n in _told(follower, Notification.Kind.POST_HIDDEN)]
    assert sorted(notes) == ["first", "second"]


# --- Moving ---------------------------------------------------------------------------------


def test_moving_a_thread_is_audited_with_where_it_came_from(thread, moderator):
    was = thread.category.slug
    elsewhere = CategoryFactory(slug="elsewhere")
    thread_move(actor=moderator, thread=thread, category=elsewhere, reason="Better fit")
    thread.refresh_from_db()
    assert thread.category == elsewhere
    entry = AuditEntry.objects.for_target(thread).get(action="thread_moved")
    assert entry.data == {"from": was, "to": "elsewhere"}
    assert entry.reason == "Better fit"
    with pytest.raises(Conflict) as same:
        thread_move(actor=moderator, thread=thread, category=elsewhere)
    assert same.value.code == "same_category"


def test_moderators_move_held_threads_too(author, moderator):
    thread = _held_thread(author)
    thread_move(actor=moderator, thread=thread, category=CategoryFactory())
    assert AuditEntry.objects.filter(action="thread_moved").count() == 1


def test_a_reply_approved_in_a_thread_hidden_meanwhile_is_news_to_nobody(
    moderator: User, author: User, follower: User, thread: Thread
):
    held = _held_reply(UserFactory(display_name="Heron"), thread)
    opening = Post.objects.filter(thread=thread).order_by("created_at", "id").first()
    post_hide(actor=moderator, post=opening, reason="Spam thread")
    post_hold_approve(actor=moderator, post=held)
    assert not Notification.objects.filter(post=held, kind=Notification.Kind.REPLY).exists()
    assert Notification.objects.filter(post=held, kind=Notification.Kind.POST_APPROVED).count() == 1
