"""Screening on create, through the API: held posts and threads (202, pending), a post
behind a warning, crisis signposting for its author, and the review hook inside the
transaction."""

from functools import partial

import pytest
from django.db import connection
from django.db.models import Count, Q

from accounts.models import User
from accounts.roles import Role
from core.errors import ApplicationError, Conflict
from forum import policy
from forum.models import Notification, Post, Subscription, Thread
from forum.policy import Screening
from forum.services import post_delete, post_edit, post_hold_approve
from tests.factories import CategoryFactory, UserFactory, make_thread, run_fan_out
from tests.utils import client_for, race

pytestmark = pytest.mark.django_db
THREADS = "/api/v1/threads/"


@pytest.fixture
def author() -> User:
    return UserFactory(display_name="Sparrowhawk")


@pytest.fixture
def moderator() -> User:
    return UserFactory(display_name="Mod Squad", role=Role.MODERATOR)


@pytest.fixture
def thread(author: User) -> Thread:
    return make_thread(author=UserFactory(display_name="Bonnie52"), title="Scan anxiety")


def _premoderate(user: User) -> None:
    User.objects.filter(pk=user.pk).update(premoderated_indefinitely=True)
    user.premoderated_indefinitely = True


def _reply(user: User, thread: Thread, body: str = "A reply about zebrafish"):
    return client_for(user).post(f"{THREADS}{thread.pk}/posts/", {"body": body}, format="json")


def _start(user: User, category, title: str = "Held question here", body: str = "Kelpie?"):
    return client_for(user).post(
        THREADS, {"category": category.slug, "title": title, "body": body}, format="json"
    )


def _search(word: str) -> list[int]:
    return [
        row["id"] for row in client_for(UserFactory()).get(THREADS, {"q": word}).json()["results"]
    ]


def test_a_premoderated_members_reply_is_held_202_uncounted_unfound_untold(author, thread):
    thread.refresh_from_db()
    before = thread.last_activity_at
    _premoderate(author)

    response = _reply(author, thread)

    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "pending"
    assert (body["sensitive"], body["muted"], body["support"]) == (False, False, None)
    thread.refresh_from_db()
    assert thread.reply_count == 0
    assert thread.last_activity_at == before
    assert _search("zebrafish") == []
    assert not Notification.objects.filter(kind=Notification.Kind.REPLY).exists()
    # The author still follows the thread.
    assert Subscription.objects.filter(user=author, thread=thread).exists()


def test_a_held_first_post_holds_its_thread_end_to_end(author, moderator):
    nurse = UserFactory(role=Role.NURSE)
    asking = CategoryFactory(slug="ask-our-nurses", nurse_answered=True)
    _premoderate(author)

    response = _start(author, asking)

    assert response.status_code == 202
    created = response.json()
    assert created["visibility"] == "pending"
    assert created["first_post"]["status"] == "pending"
    thread_id = created["id"]
    stranger = client_for(UserFactory())
    assert stranger.get(f"{THREADS}{thread_id}/").status_code == 404
    assert stranger.get(f"{THREADS}{thread_id}/posts/").status_code == 404
    assert thread_id not in [row["id"] for row in stranger.get(THREADS).json()["results"]]
    assert _search("kelpie") == []
    assert not Notification.objects.filter(recipient=nurse).exists()
    # The author sees her own held thread, and its post, as pending.
    mine = client_for(author)
    assert mine.get(f"{THREADS}{thread_id}/").json()["visibility"] == "pending"
    [own] = mine.get(f"{THREADS}{thread_id}/posts/").json()["results"]
    assert own["status"] == "pending"
    # Nobody replies to a held thread, not even its author.
    assert _reply(UserFactory(), Thread.objects.get(pk=thread_id)).status_code == 404

    post_hold_approve(actor=moderator, post=Post.objects.get(pk=own["id"]))
    run_fan_out()  # its job, after the commit: the nurses told, the question indexed

    assert stranger.get(f"{THREADS}{thread_id}/").json()["visibility"] == "visible"
    assert _search("kelpie") == [thread_id]
    assert Notification.objects.filter(
        recipient=nurse, kind=Notification.Kind.NEW_QUESTION
    ).exists()
    assert _reply(UserFactory(), Thread.objects.get(pk=thread_id)).status_code == 201


def test_new_members_first_posts_are_held_until_enough_are_published(
    author, thread, moderator, settings
):
    settings.HAVEN_NEW_MEMBER_HOLD_POSTS = 2
    first = _reply(author, thread, "one")
    second = _reply(author, thread, "two")
    assert (first.status_code, second.status_code) == (202, 202)
    # Held posts are not published ones: still new.
    post_hold_approve(actor=moderator, post=Post.objects.get(pk=first.json()["id"]))
    assert _reply(author, thread, "three").status_code == 202
    post_hold_approve(actor=moderator, post=Post.objects.get(pk=second.json()["id"]))
    assert _reply(author, thread, "four").status_code == 201


def test_a_deleted_post_does_not_count_as_published(author, thread, moderator, settings):
    settings.HAVEN_NEW_MEMBER_HOLD_POSTS = 1
    held = Post.objects.get(pk=_reply(author, thread, "one").json()["id"])
    post_hold_approve(actor=moderator, post=held)
    post_delete(user=author, post=held)
    assert _reply(author, thread, "two").status_code == 202


@pytest.mark.parametrize("role", [Role.NURSE, Role.MODERATOR])
def test_staff_are_never_held_as_new_or_premoderated(role, thread, settings):
    settings.HAVEN_NEW_MEMBER_HOLD_POSTS = 5
    staff = UserFactory(role=role)
    _premoderate(staff)
    assert _reply(staff, thread).status_code == 201


def test_the_default_holds_nobody(author, thread):
    assert _reply(author, thread).status_code == 201
    assert _start(author, CategoryFactory()).status_code == 201


def test_a_screen_that_refuses_writes_nothing(author, thread):
    def block(user, text):
        if "forbidden" in text:
            raise ApplicationError("blocked_content", "This can't be posted.")
        return Screening()

    threads, posts = Thread.objects.count(), Post.objects.count()
    with policy.registered(screens=(block,)):
        refused = _reply(author, thread, "a forbidden word")
        refused_title = _start(author, CategoryFactory(), title="A forbidden title")
    assert refused.status_code == refused_title.status_code == 400
    assert refused.json()["code"] == "blocked_content"
    assert (Thread.objects.count(), Post.objects.count()) == (threads, posts)


def test_the_raised_hook_runs_inside_the_transaction_with_the_written_post(author, thread):
    seen = []

    def screen(user, text):
        return Screening(flag=True, sensitive=True, reasons=("watched_word",))

    def hook(post, screening):
        seen.append((post.pk, screening.reasons, connection.in_atomic_block))
        assert Post.objects.filter(pk=post.pk, sensitive=True).exists()

    with policy.registered(screens=(screen,), raised_hooks=(hook,)):
        response = _reply(author, thread)
    assert response.status_code == 201  # flagged, not held
    assert response.json()["sensitive"] is True
    assert seen == [(response.json()["id"], ("watched_word",), True)]

    def failing(post, screening):
        raise RuntimeError("the review queue is down")

    posts = Post.objects.count()
    with (
        policy.registered(screens=(screen,), raised_hooks=(failing,)),
        pytest.raises(RuntimeError),
    ):
        _start(author, CategoryFactory())
    assert Post.objects.count() == posts  # the hook failing undoes the post


def test_a_safeguarding_concern_shows_its_author_crisis_support_and_nobody_else(author, thread):
    calls = []

    def screen(user, text):
        return Screening(safeguarding="overdose" in text, reasons=("watched_word",))

    def render(kind):
        calls.append(kind)
        return "<p>Samaritans: 116 123</p>"

    with policy.registered(screens=(screen,), support={"crisis": render}):
        created = _reply(author, thread, "I think about an overdose")
        _reply(author, thread, "another overdose thought")
        _reply(author, thread, "and a plain reply")
        calls.clear()
        mine = client_for(author).get(f"{THREADS}{thread.pk}/posts/").json()["results"]
        theirs = client_for(UserFactory()).get(f"{THREADS}{thread.pk}/posts/").json()["results"]

    assert created.status_code == 201  # not hidden, not held by this alone
    assert created.json()["support"] == {"kind": "crisis", "html": "<p>Samaritans: 116 123</p>"}
    supported = [row["support"] for row in mine if row["author"]["id"] == author.pk]
    assert supported == [
        {"kind": "crisis", "html": "<p>Samaritans: 116 123</p>"},
        {"kind": "crisis", "html": "<p>Samaritans: 116 123</p>"},
        None,
    ]
    assert calls == ["crisis"]  # rendered once for the whole page
    assert all(row["support"] is None for row in theirs)
    assert Post.objects.filter(support_kind="crisis", status=Post.Status.VISIBLE).count() == 2


def test_an_author_edits_and_deletes_her_held_post(author, thread):
    _premoderate(author)
    post_id = _reply(author, thread).json()["id"]
    edited = client_for(author).patch(
        f"/api/v1/posts/{post_id}/", {"body": "Edited"}, format="json"
    )
    assert edited.status_code == 200
    assert edited.json()["status"] == "pending"
    assert client_for(author).delete(f"/api/v1/posts/{post_id}/").json()["status"] == "deleted"


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("rounds", [4])
def test_a_moderator_approving_while_the_author_edits_or_deletes_stays_coherent(rounds):
    moderator = UserFactory(role=Role.MODERATOR)
    author = UserFactory()
    thread = make_thread(author=UserFactory())
    for n in range(rounds):
        for author_acts in ("edit", "delete"):
            _premoderate(author)
            author.refresh_from_db()
            held = _reply(author, thread, f"held {n}").json()["id"]
            post = Post.objects.get(pk=held)

            def approve(post=post) -> None:
                try:
                    post_hold_approve(actor=moderator, post=post)
                except Conflict as exc:  # the author deleted it first
                    assert exc.code == "post_deleted"

            def act(post=post, what=author_acts, n=n) -> None:
                if what == "edit":
                    post_edit(user=author, post=post, body=f"quokka edited {n}")
                else:
                    post_delete(user=author, post=post)

            assert race([approve, partial(act)]) == []
            post.refresh_from_db()
            if author_acts == "edit":
                assert (post.status, post.body) == ("visible", f"quokka edited {n}")
            else:
                assert post.status == Post.Status.DELETED
            thread.refresh_from_db()
            opening = Post.objects.filter(thread=thread).order_by("created_at", "id")[0]
            counted = Post.objects.filter(thread=thread, status="visible").aggregate(
                n=Count("id", filter=~Q(pk=opening.pk))
            )["n"]
            assert thread.reply_count == counted
    assert _search("quokka") == [thread.pk]
