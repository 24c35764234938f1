"""Who sees what: anonymous, another member, the author, a nurse and a moderator, for a held
post, a hidden post, a held thread and a hidden thread, at every read endpoint.

Held: its author and moderators. Hidden: moderators alone (its author was told, with the
moderator's note). A held or hidden thread is never in lists, search or "similar" for
anyone. Everyone else gets a 404, exactly as for an id that does not exist.
"""

import pytest
from rest_framework.test import APIClient

from accounts.models import User
from accounts.roles import Role
from forum.models import Notification, Post, Subscription, Thread
from forum.services import post_create, post_hide, thread_create
from tests.factories import CategoryFactory, UserFactory, make_reply, make_thread
from tests.utils import client_for

pytestmark = pytest.mark.django_db
THREADS = "/api/v1/threads/"
ROLES = ("anonymous", "member", "author", "nurse", "moderator")
SEES = {
    "held_post": {"author", "moderator"},
    "hidden_post": {"moderator"},
    "held_thread": {"author", "moderator"},
    "hidden_thread": {"moderator"},
}


def _premoderated(user: User) -> User:
    User.objects.filter(pk=user.pk).update(premoderated_indefinitely=True)
    user.premoderated_indefinitely = True
    return user


def _released(user: User) -> None:
    User.objects.filter(pk=user.pk).update(premoderated_indefinitely=False)
    user.premoderated_indefinitely = False


@pytest.fixture
def people() -> dict[str, User]:
    return {
        "member": UserFactory(display_name="Bonnie52"),
        "author": UserFactory(display_name="Sparrowhawk"),
        "nurse": UserFactory(role=Role.NURSE),
        "moderator": UserFactory(display_name="Mod Squad", role=Role.MODERATOR),
    }


def _world(case: str, people: dict[str, User]) -> tuple[Thread, Post]:
    """The case's thread and post; its text has the word "wombat" for search."""
    author, moderator = people["author"], people["moderator"]
    category = CategoryFactory(slug="living-with-cancer")
    if case.endswith("_post"):
        thread = make_thread(author=people["member"], category=category, title="Public thread")
        Subscription.objects.create(user=people["nurse"], thread=thread)
        if case == "held_post":
            _premoderated(author)
        post = post_create(author=author, thread=thread, body="A wombat reply")
        _released(author)
        if case == "hidden_post":
            post_hide(actor=moderator, post=post, reason="test")
        post.refresh_from_db()
        return thread, post
    if case == "held_thread":
        _premoderated(author)
    thread = thread_create(
        author=author, category=category, title="Wombat question", body="About a wombat"
    )
    _released(author)
    post = Post.objects.get(thread=thread)
    if case == "hidden_thread":
        post_hide(actor=moderator, post=post, reason="test")
    post.refresh_from_db()
    return thread, post


def _client(role: str, people: dict[str, User]) -> APIClient:
    return APIClient() if role == "anonymous" else client_for(people[role])


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("case", list(SEES))
def test_each_role_sees_exactly_what_it_may(case, role, people):
    thread, post = _world(case, people)
    client = _client(role, people)
    sees = role in SEES[case]
    thread_hidden = case.endswith("_thread")
    missing = 404

    # The thread and its posts page.
    detail = client.get(f"{THREADS}{thread.pk}/")
    page = client.get(f"{THREADS}{thread.pk}/posts/")
    if thread_hidden and not sees:
        assert detail.status_code == page.status_code == missing
        assert detail.json() == client.get(f"{THREADS}999999/").json()
    else:
        assert detail.status_code == page.status_code == 200
        ids = {row["id"]: row["status"] for row in page.json()["results"]}
        assert (post.pk in ids) is sees
        if sees:
            assert ids[post.pk] == post.status

    # Lists, search and "similar" never show held or hidden threads, to anyone.
    listed = [row["id"] for row in client.get(THREADS).json()["results"]]
    found = [row["id"] for row in client.get(THREADS, {"q": "wombat"}).json()["results"]]
    similar = client.get(f"{THREADS}similar/", {"title": "wombat question"}).json()["results"]
    assert (thread.pk in listed) is not thread_hidden
    assert found == [] and [row["id"] for row in similar] == []

    # Writing endpoints that fetch the post or thread: a 404 for those who can't see it.
    if role == "anonymous":
        return
    edit = client.patch(f"/api/v1/posts/{post.pk}/", {"body": "Changed"}, format="json")
    assert edit.status_code == (200 if sees else missing)
    like = client.post(f"/api/v1/posts/{post.pk}/like/")
    assert like.status_code == missing  # only published posts are liked
    unfollow = client.delete(f"{THREADS}{thread.pk}/follow/")
    assert unfollow.status_code == (200 if sees or not thread_hidden else missing)
    follow = client.post(f"{THREADS}{thread.pk}/follow/")
    assert follow.status_code == (missing if thread_hidden else 200)
    revisions = client.get(f"/api/v1/posts/{post.pk}/revisions/")
    assert revisions.status_code == (200 if role == "moderator" else 403)
    delete = client.delete(f"/api/v1/posts/{post.pk}/")
    assert delete.status_code == (200 if sees else missing)


def test_notices_about_a_post_hidden_since_leave_the_followers_list(people):
    thread = make_thread(author=people["member"], title="Public thread")
    reply = make_reply(author=people["author"], thread=thread, body="Visible for a while")
    member = client_for(people["member"])
    assert [n["post"] for n in member.get("/api/v1/notifications/").json()["results"]] == [reply.pk]
    assert member.get("/api/v1/me/").json()["unread_notifications"] == 1

    post_hide(actor=people["moderator"], post=reply, note="Not kind")

    assert member.get("/api/v1/notifications/").json()["results"] == []
    assert member.get("/api/v1/me/").json()["unread_notifications"] == 0
    # The author is told, with the note, even though she can no longer see the post.
    [told] = client_for(people["author"]).get("/api/v1/notifications/").json()["results"]
    assert (told["kind"], told["note"], told["actor"]) == ("post_hidden", "Not kind", None)


def test_the_author_of_a_hidden_thread_still_reads_why(people):
    thread, _post = _world("hidden_thread", people)
    Notification.objects.filter(kind=Notification.Kind.POST_HIDDEN).update(note="Off-topic")
    author = client_for(people["author"])
    assert author.get(f"{THREADS}{thread.pk}/").status_code == 404
    [told] = author.get("/api/v1/notifications/").json()["results"]
    assert (told["kind"], told["thread"]["id"], told["note"]) == (
        "post_hidden",
        thread.pk,
        "Off-topic",
    )
