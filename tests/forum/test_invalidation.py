"""Every kind of write moves its thread's version on, so no cached page outlives it.

Each case warms every page of a thread that may be cached (the posts page through the API,
anonymous, signed in and as a moderator; the thread lists, anonymous and signed in; the
thread's detail; the HTML thread and category pages), makes one write through the real
endpoint or service, and reads them all again: each equals a fresh render with the page
cache off, the write shows, and ``Thread.version`` moved on. A write that is refused moves
nothing. ``test_every_write_service_is_classified`` fails when a new write service appears
that nobody decided about. Every case also checks the categories' kept counts of visible
threads (the lists' ``count``) against a real ``COUNT(*)``: the pages compared are rendered
from the kept counts, so only this catches a write that forgot to move them.
"""

import inspect
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.db import connection, transaction
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts import privacy as accounts_privacy
from accounts import services as accounts_services
from accounts.models import User
from accounts.roles import Role
from forum import privacy as forum_privacy
from forum import selectors, services, thread_lists
from forum.admin import PostAdmin, ThreadAdmin
from forum.models import Category, Post, Thread
from moderation import answers, demo, flags, queue
from moderation.models import ReviewItem
from tests.factories import PASSWORD, CategoryFactory, UserFactory, make_thread
from tests.utils import (
    admin_form,
    client_for,
    closed_port,
    race,
    thread_counts,
    token_client,
    wait_until,
)

pytestmark = pytest.mark.django_db


@dataclass
class World:
    nurses: Category
    peers: Category
    alice: User  # started the thread
    bob: User  # replied to it; started the neighbour
    carol: User  # follows it
    dave: User  # in pre-moderation
    moderator: User
    nurse: User
    admin: User
    thread: Thread
    reply: Post
    neighbour: Thread
    made: dict[str, Any] = field(default_factory=dict)  # what a case's setup made
    app: dict[str, APIClient] = field(default_factory=dict)  # signed in once, as apps are


@pytest.fixture
def world(db) -> World:
    demo.install()  # support services and signposting templates, for nurse answers
    nurses = CategoryFactory(slug="ask-our-nurses", name="Ask Our Nurses", nurse_answered=True)
    peers = CategoryFactory(slug="peers", name="Peers")
    alice = UserFactory(display_name="Alice")
    bob = UserFactory(display_name="Bob")
    carol = UserFactory(display_name="Carol")
    dave = UserFactory(display_name="Dave")
    User.objects.filter(pk=dave.pk).update(premoderated_indefinitely=True)
    thread = make_thread(author=alice, category=nurses, title="Lump after surgery")
    reply = services.post_create(author=bob, thread=thread, body="I had the same, it was fine.")
    neighbour = make_thread(author=bob, category=nurses, title="Scans and waiting")
    services.thread_follow(user=carol, thread=thread)
    return World(
        nurses=nurses,
        peers=peers,
        alice=alice,
        bob=bob,
        carol=carol,
        dave=User.objects.get(pk=dave.pk),
        moderator=UserFactory(display_name="Mod Morgan", role=Role.MODERATOR),
        nurse=UserFactory(display_name="Helen Smith", role=Role.NURSE),
        admin=UserFactory(display_name="Site Admin", is_superuser=True, is_staff=True),
        thread=thread,
        reply=reply,
        neighbour=neighbour,
    )


def views(w: World) -> dict[str, tuple[Any, str]]:
    """Every page of the thread that a cache may hold, as its readers read it."""
    t, slug = w.thread.pk, w.nurses.slug
    anonymous, browser = APIClient(), Client()
    # Carol reads as an app does, with a session token: the fast paths before DRF serve her
    # hits (forum.apis.threads, thread_posts); the moderator's pages are DRF's.
    if "carol" not in w.app:
        w.app["carol"] = token_client(w.carol)
    carol, moderator = w.app["carol"], client_for(w.moderator)
    return {
        "posts": (anonymous, f"/api/v1/threads/{t}/posts/"),
        "posts for carol": (carol, f"/api/v1/threads/{t}/posts/"),
        "posts for a moderator": (moderator, f"/api/v1/threads/{t}/posts/"),
        "threads": (anonymous, "/api/v1/threads/"),
        "threads of the category": (anonymous, f"/api/v1/threads/?category={slug}"),
        "threads of the other category": (anonymous, f"/api/v1/threads/?category={w.peers.slug}"),
        "threads for carol": (carol, "/api/v1/threads/"),
        "threads for a moderator": (moderator, f"/api/v1/threads/?category={slug}"),
        "detail": (anonymous, f"/api/v1/threads/{t}/"),
        "thread page": (browser, f"/t/{t}/"),
        "category page": (browser, f"/c/{slug}/"),
        "other category page": (browser, f"/c/{w.peers.slug}/"),
    }


def snapshot(w: World) -> dict[str, tuple[int, bytes]]:
    return {
        name: ((r := client.get(url)).status_code, r.content)
        for name, (client, url) in views(w).items()
    }


def fresh(w: World) -> dict[str, tuple[int, bytes]]:
    """The pages rendered with the page cache off: what a correct cache must answer."""
    with override_settings(HAVEN_PAGE_CACHE=False):
        return snapshot(w)


def version(thread: Thread) -> int:
    return Thread.objects.values_list("version", flat=True).get(pk=thread.pk)


def held_reply(w: World) -> Post:
    return services.post_create(author=w.dave, thread=w.thread, body="A reply waiting for review")


def item_of(post: Post) -> ReviewItem:
    return ReviewItem.objects.get(post=post, status="pending")


def ok(response: Any, *statuses: int) -> None:
    assert response.status_code in (statuses or (200,)), (response.status_code, response.content)


def admin_change(w: World, url: str, drop: tuple[str, ...] = (), **changes: str) -> None:
    client = Client()
    client.force_login(w.admin)
    data = admin_form(client, url, **changes)
    for name in drop:
        data.pop(name, None)
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[-3000:]


def admin_post(w: World, url: str, **data: Any) -> None:
    """A confirmed admin page (a deletion), as the admin submits it."""
    client = Client()
    client.force_login(w.admin)
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[-3000:]


def _setup_other_reply(w: World) -> None:
    w.made["other"] = services.post_create(author=w.carol, thread=w.neighbour, body="Same here")


@dataclass(frozen=True)
class Case:
    write: Callable[[World], None]
    setup: Callable[[World], None] = lambda w: None
    # Which thread moves on (the world's thread unless said).
    thread: Callable[[World], Thread] = lambda w: w.thread
    # Whether any of the pages read shows the write (a few writes change what only someone
    # else reads, e.g. the signposting only the post's author sees).
    shows: bool = True


def _setup_held_thread(w: World) -> None:
    held = make_thread(author=w.dave, category=w.nurses, title="A held question")
    w.made["held thread"] = held
    w.made["opening"] = Post.objects.get(thread=held)


def _setup_answer(w: World) -> None:
    w.made["answer"] = answers.nurse_answer_create(
        nurse=w.nurse, thread=w.thread, body="A mammogram is usual.", signposts=[], close=False
    )


def _opening(w: World) -> Post:
    return Post.objects.filter(thread=w.thread).order_by("created_at", "id").first()  # type: ignore[return-value]


CASES: dict[str, Case] = {
    "reply": Case(
        lambda w: ok(
            client_for(w.bob).post(
                f"/api/v1/threads/{w.thread.pk}/posts/", {"body": "Another reply"}
            ),
            201,
        )
    ),
    "held reply": Case(lambda w: held_reply(w) and None),
    "edit": Case(
        lambda w: ok(client_for(w.bob).patch(f"/api/v1/posts/{w.reply.pk}/", {"body": "Edited"}))
    ),
    "delete": Case(lambda w: ok(client_for(w.bob).delete(f"/api/v1/posts/{w.reply.pk}/"))),
    "like": Case(lambda w: ok(client_for(w.carol).post(f"/api/v1/posts/{w.reply.pk}/like/"))),
    "unlike": Case(
        lambda w: ok(client_for(w.carol).delete(f"/api/v1/posts/{w.reply.pk}/like/")),
        setup=lambda w: services.post_like(user=w.carol, post=w.reply) and None,
    ),
    "hide": Case(
        lambda w: ok(
            client_for(w.moderator).post(f"/api/v1/posts/{w.reply.pk}/hide/", {"reason": "Rude"})
        )
    ),
    "restore": Case(
        lambda w: ok(
            client_for(w.moderator).post(f"/api/v1/posts/{w.reply.pk}/restore/", {"reason": "Ok"})
        ),
        setup=lambda w: services.post_hide(actor=w.moderator, post=w.reply) and None,
    ),
    "approve": Case(
        lambda w: ok(
            client_for(w.moderator).post(
                f"/api/v1/moderation/queue/{item_of(w.made['held']).pk}/resolve/",
                {"action": "approve"},
            )
        ),
        setup=lambda w: w.made.update(held=held_reply(w)),
    ),
    "reject": Case(
        lambda w: ok(
            client_for(w.moderator).post(
                f"/api/v1/moderation/queue/{item_of(w.made['held']).pk}/resolve/",
                {"action": "reject", "note": "Not here, please"},
            )
        ),
        setup=lambda w: w.made.update(held=held_reply(w)),
    ),
    "hidden confirm": Case(
        lambda w: (
            services.post_hidden_confirm(actor=w.moderator, post=w.reply, note="Rude") and None
        ),
        setup=lambda w: services.post_hide(actor=None, post=w.reply) and None,
        shows=False,  # hidden before and after: the moderator's decision is in the audit log
    ),
    "close": Case(
        lambda w: ok(
            client_for(w.nurse).post(f"/api/v1/threads/{w.thread.pk}/close/", {"reason": "Done"})
        )
    ),
    "reopen": Case(
        lambda w: ok(client_for(w.nurse).post(f"/api/v1/threads/{w.thread.pk}/reopen/")),
        setup=lambda w: services.thread_close(actor=w.nurse, thread=w.thread) and None,
    ),
    "nurse answer": Case(
        lambda w: ok(
            client_for(w.nurse).post(
                f"/api/v1/threads/{w.thread.pk}/nurse-answer/",
                {"body": "A mammogram is usual.", "signposts": ["helpline"], "close": False},
            ),
            201,
        )
    ),
    "nurse answer closing": Case(
        lambda w: ok(
            client_for(w.nurse).post(
                f"/api/v1/threads/{w.thread.pk}/nurse-answer/",
                {"body": "A mammogram is usual.", "signposts": [], "close": True},
            ),
            201,
        )
    ),
    "nurse correction": Case(
        lambda w: ok(
            client_for(w.nurse).post(
                f"/api/v1/posts/{w.made['answer'].pk}/correction/",
                {"body": "An ultrasound is usual.", "signposts": [], "reason": "Wrong test"},
            )
        ),
        setup=_setup_answer,
    ),
    "move": Case(
        lambda w: ok(
            client_for(w.moderator).post(
                f"/api/v1/threads/{w.thread.pk}/move/", {"category": "peers", "reason": "Off topic"}
            )
        )
    ),
    "held thread approved": Case(
        lambda w: ok(
            client_for(w.moderator).post(
                f"/api/v1/moderation/queue/{item_of(w.made['opening']).pk}/resolve/",
                {"action": "approve"},
            )
        ),
        setup=_setup_held_thread,
        thread=lambda w: w.made["held thread"],
    ),
    "held thread rejected": Case(
        lambda w: ok(
            client_for(w.moderator).post(
                f"/api/v1/moderation/queue/{item_of(w.made['opening']).pk}/resolve/",
                {"action": "reject", "note": "Please ask this in a message"},
            )
        ),
        setup=_setup_held_thread,
        thread=lambda w: w.made["held thread"],
        shows=False,  # held before, hidden after: nobody's pages but the moderators' queue
    ),
    "moved by an admin": Case(
        lambda w: admin_post(
            w,
            "/admin/forum/thread/",
            action="move_threads",
            _selected_action=[w.thread.pk],
            apply="yes",
            category=str(w.peers.pk),
            reason="Off topic",
        )
    ),
    "thread hidden": Case(
        lambda w: ok(
            client_for(w.moderator).post(f"/api/v1/posts/{_opening(w).pk}/hide/", {"reason": "x"})
        )
    ),
    "thread restored": Case(
        lambda w: ok(client_for(w.moderator).post(f"/api/v1/posts/{_opening(w).pk}/restore/")),
        setup=lambda w: services.post_hide(actor=w.moderator, post=_opening(w)) and None,
    ),
    "safeguarding flag": Case(
        lambda w: ok(
            client_for(w.carol).post(
                f"/api/v1/posts/{w.reply.pk}/flags/", {"reason": "safeguarding"}
            ),
            201,
        ),
        shows=False,  # the crisis signposting shows to the post's author alone
    ),
    "flags over the threshold": Case(
        lambda w: (
            [
                flags.flag_create(flagger=UserFactory(), post=w.reply, reason="spam")
                for _ in range(3)
            ]
            and None
        ),
    ),
    "erasure": Case(
        lambda w: ok(client_for(w.bob).delete("/api/v1/me/", {"password": PASSWORD}), 204)
    ),
    "erasure with the posts": Case(
        lambda w: ok(
            client_for(w.bob).delete("/api/v1/me/", {"password": PASSWORD, "delete_posts": True}),
            204,
        )
    ),
    "erasure of the thread's author": Case(
        lambda w: ok(client_for(w.alice).delete("/api/v1/me/", {"password": PASSWORD}), 204)
    ),
    "display name": Case(
        lambda w: ok(client_for(w.bob).patch("/api/v1/me/", {"display_name": "Robert"}))
    ),
    "display name of the thread's author": Case(
        lambda w: ok(client_for(w.alice).patch("/api/v1/me/", {"display_name": "Alicia"}))
    ),
    "display name by an admin": Case(
        lambda w: admin_change(w, f"/admin/accounts/user/{w.bob.pk}/change/", display_name="Robert")
    ),
    "account deactivated by an admin": Case(
        lambda w: admin_change(w, f"/admin/accounts/user/{w.bob.pk}/change/", drop=("is_active",))
    ),
    "category renamed by an admin": Case(
        lambda w: admin_change(
            w, f"/admin/forum/category/{w.nurses.pk}/change/", name="Ask the Nurses"
        )
    ),
    "category renamed by the service": Case(
        lambda w: (
            services.category_ensure(
                slug=w.nurses.slug,
                name="Ask the Nurses",
                description="",
                position=0,
                nurse_answered=True,
            )
            and None
        )
    ),
    "thread retitled by an admin": Case(
        lambda w: admin_change(
            w, f"/admin/forum/thread/{w.thread.pk}/change/", title="Lump after my surgery"
        )
    ),
    "post deleted by an admin": Case(
        lambda w: admin_post(w, f"/admin/forum/post/{w.reply.pk}/delete/", post="yes")
    ),
    "posts deleted by an admin": Case(
        lambda w: admin_post(
            w,
            "/admin/forum/post/",
            action="delete_selected",
            _selected_action=[w.reply.pk, w.made["other"].pk],
            post="yes",
        ),
        setup=_setup_other_reply,
    ),
    "member deleted by an admin": Case(
        lambda w: admin_post(w, f"/admin/accounts/user/{w.bob.pk}/delete/", post="yes")
    ),
    "members deleted by an admin": Case(
        lambda w: admin_post(
            w,
            "/admin/accounts/user/",
            action="delete_selected",
            _selected_action=[w.bob.pk, w.alice.pk],
            post="yes",
        )
    ),
}


@pytest.mark.parametrize("kind", list(CASES))
def test_every_write_moves_the_version_and_no_cached_page_outlives_it(world, kind):
    case = CASES[kind]
    case.setup(world)
    warm = snapshot(world)
    assert snapshot(world) == warm == fresh(world)  # cached, and what a fresh render gives
    thread = case.thread(world)
    was = version(thread)

    kept, real = thread_counts()
    assert kept == real

    case.write(world)

    assert version(thread) > was
    kept, real = thread_counts()
    assert kept == real
    after = snapshot(world)
    assert after == fresh(world)
    if case.shows:
        assert after != warm


# --- Refused writes move nothing ------------------------------------------------------------


REFUSED: dict[str, Case] = {
    "reply to a closed thread": Case(
        lambda w: ok(
            client_for(w.bob).post(f"/api/v1/threads/{w.thread.pk}/posts/", {"body": "Hi"}), 403
        ),
        setup=lambda w: services.thread_close(actor=w.nurse, thread=w.thread) and None,
    ),
    "empty edit": Case(
        lambda w: ok(client_for(w.bob).patch(f"/api/v1/posts/{w.reply.pk}/", {"body": " "}), 400)
    ),
    "liking one's own post": Case(
        lambda w: ok(client_for(w.bob).post(f"/api/v1/posts/{w.reply.pk}/like/"), 403)
    ),
    "a member hiding": Case(
        lambda w: ok(client_for(w.carol).post(f"/api/v1/posts/{w.reply.pk}/hide/"), 403)
    ),
    "a moderator hiding twice": Case(
        lambda w: ok(client_for(w.moderator).post(f"/api/v1/posts/{w.reply.pk}/hide/"), 409),
        setup=lambda w: services.post_hide(actor=w.moderator, post=w.reply) and None,
    ),
    "a move to the same category": Case(
        lambda w: ok(
            client_for(w.moderator).post(
                f"/api/v1/threads/{w.thread.pk}/move/", {"category": w.nurses.slug}
            ),
            409,
        )
    ),
    "a nurse answer from a member": Case(
        lambda w: ok(
            client_for(w.carol).post(
                f"/api/v1/threads/{w.thread.pk}/nurse-answer/",
                {"body": "I know this", "signposts": [], "close": False},
            ),
            403,
        )
    ),
    "a display name already taken": Case(
        lambda w: ok(client_for(w.bob).patch("/api/v1/me/", {"display_name": "Alice"}), 400)
    ),
    "an erasure with a wrong password": Case(
        lambda w: ok(client_for(w.bob).delete("/api/v1/me/", {"password": "not it at all"}), 400)
    ),
}


@pytest.mark.parametrize("kind", list(REFUSED))
def test_a_refused_write_moves_nothing(world, kind):
    case = REFUSED[kind]
    case.setup(world)
    warm = snapshot(world)
    versions = dict(Thread.objects.values_list("pk", "version"))

    counts = thread_counts()

    case.write(world)

    assert dict(Thread.objects.values_list("pk", "version")) == versions
    assert thread_counts() == counts
    assert snapshot(world) == warm == fresh(world)


# --- What moves nothing -------------------------------------------------------------------


LIST = "/api/v1/threads/"


def test_following_changes_only_the_followers_own_rows(world):
    """Follows are per viewer: no version moves, and the cached list shows each viewer hers."""
    lists = {"carol": client_for(world.carol), "bob": client_for(world.bob)}

    def following() -> dict[str, dict[int, bool]]:
        return {
            name: {
                row["id"]: row["following"] for row in c.get("/api/v1/threads/").json()["results"]
            }
            for name, c in lists.items()
        }

    before = following()
    assert before["carol"][world.thread.pk] is True and before["carol"][world.neighbour.pk] is False
    assert before["bob"][world.thread.pk] is True  # he replied: he follows
    versions = dict(Thread.objects.values_list("pk", "version"))

    ok(lists["carol"].delete(f"/api/v1/threads/{world.thread.pk}/follow/"))
    ok(lists["carol"].post(f"/api/v1/threads/{world.neighbour.pk}/follow/"))

    assert dict(Thread.objects.values_list("pk", "version")) == versions
    after = following()
    assert after["carol"] == {**before["carol"], world.thread.pk: False, world.neighbour.pk: True}
    assert after["bob"] == before["bob"]
    assert APIClient().get("/api/v1/threads/").json()["results"][0]["following"] is False


def test_a_followers_cached_list_is_spliced_exactly_whatever_titles_say(world, monkeypatch):
    """A signed-in hit lays ``following`` into the stored bytes in place
    (``thread_lists.with_following_body``): a title made of the very field it rewrites changes
    nothing of it, compact or indented; what it serves is what the cache off serves."""
    trick = '"following":false,"following": false}]}'
    services.thread_create(author=world.bob, category=world.peers, title=trick, body=trick)
    carol = client_for(world.carol)
    spliced: list[bool] = []
    splice = thread_lists.with_following_body

    def spy(*args: Any, **kwargs: Any) -> bytes | None:
        body = splice(*args, **kwargs)
        spliced.append(body is not None)
        return body

    monkeypatch.setattr(thread_lists, "with_following_body", spy)
    for accept in ("application/json", "application/json; indent=4"):
        with override_settings(HAVEN_PAGE_CACHE=False):
            reference = carol.get(LIST, HTTP_ACCEPT=accept)
        for _ in range(2):
            answer = carol.get(LIST, HTTP_ACCEPT=accept)
            assert (answer.status_code, answer.content) == (200, reference.content), accept
    assert spliced == [True] * 2  # each format's hit (its first request stores the page)
    rows = reference.json()["results"]
    assert [row["following"] for row in rows if row["title"] == trick] == [False]
    assert {row["id"] for row in rows if row["following"]} == {world.thread.pk}


# --- Every write service is accounted for -----------------------------------------------------

# Each public service that runs in its own transaction, by module: the write kinds above that
# exercise it, or why it moves no version. A new service fails the test below until it is
# classified here (and, if it changes what a thread's pages show, covered by a case above).
WRITE_SERVICES: dict[str, dict[str, str]] = {
    "forum.services": {
        "category_ensure": "category renamed by the service",
        "thread_create": "a new thread: version 0, new to the lists (their ids change)",
        "post_create": "reply, held reply",
        "post_edit": "edit",
        "post_delete": "delete",
        "thread_close": "close",
        "thread_reopen": "reopen",
        "post_like": "like",
        "post_unlike": "unlike",
        "thread_follow": "per viewer: no version",
        "thread_unfollow": "per viewer: no version",
        "notifications_mark_read": "per viewer, no thread page",
        "post_hide": "hide, thread hidden",
        "post_hidden_confirm": "hidden confirm",
        "post_restore": "restore, thread restored",
        "post_hold_approve": "approve, held thread approved",
        "post_hold_reject": "reject, held thread rejected",
        "thread_move": "move, moved by an admin",
        "thread_counts_recount": "the categories' counts put right: the lists' count (a key)",
    },
    "moderation.answers": {
        "nurse_answer_create": "nurse answer, nurse answer closing",
        "nurse_answer_correct": "nurse correction",
    },
    "moderation.flags": {"flag_create": "safeguarding flag, flags over the threshold"},
    "moderation.queue": {
        "review_claim": "the review item only",
        "review_resolve": "approve, reject (the forum's services)",
    },
    "accounts.services": {
        "user_create": "a new account has written nothing",
        "user_set_role": "content keeps the voice it was written in",
        "user_update_profile": "display name",
        "member_mute": "per viewer: no version",
        "member_unmute": "per viewer: no version",
        "member_suspend": "a suspension shows on no thread page",
        "member_unsuspend": "a suspension shows on no thread page",
        "member_premoderate": "what she writes next is held: nothing shown changes",
        "member_release": "what she writes next is published: nothing shown changes",
    },
    "accounts.privacy": {
        "member_export": "reads only",
        "member_erase": "erasure (forum.privacy.forum_erase)",
    },
}
MODULES = {
    "forum.services": services,
    "moderation.answers": answers,
    "moderation.flags": flags,
    "moderation.queue": queue,
    "accounts.services": accounts_services,
    "accounts.privacy": accounts_privacy,
}


def _atomic_services(module: Any) -> set[str]:
    source = inspect.getsource(module)
    return set(re.findall(r"^@transaction\.atomic\s*\ndef ([a-z]\w*)\(", source, re.MULTILINE))


def test_every_write_service_is_classified():
    for name, module in MODULES.items():
        assert _atomic_services(module) == set(WRITE_SERVICES[name]), name
    covered = " ".join(WRITE_SERVICES[m][f] for m in WRITE_SERVICES for f in WRITE_SERVICES[m])
    for kind in CASES:
        assert kind in covered or kind in {
            "display name of the thread's author",
            "display name by an admin",
            "account deactivated by an admin",
            "category renamed by an admin",
            "thread retitled by an admin",
            "post deleted by an admin",
            "posts deleted by an admin",
            "member deleted by an admin",
            "members deleted by an admin",
            "erasure with the posts",
            "erasure of the thread's author",
        }, kind
    # The forum's part of an erasure is registered, not decorated: it bumps all the same.
    assert "member_threads(" in inspect.getsource(forum_privacy.forum_erase)


# --- The thread list's cache ------------------------------------------------------------------


def _headers(response: Any) -> dict[str, str]:
    """A response's headers but the clock's (a signed-in page expires "now")."""
    return {k: v for k, v in response.headers.items() if k not in {"Expires", "Date"}}


@pytest.mark.parametrize(
    "query",
    [
        "",
        "?page=2",
        "?category=ask-our-nurses&status=open&unanswered=true",
        "?q=question",
        "?page_size=3&page=last",
        "?author={bob}",
        "?format=json&utm_source=newsletter",
    ],
)
@pytest.mark.parametrize("signed_in", [False, True])
def test_a_cached_thread_list_is_byte_identical_to_an_uncached_one(world, query, signed_in):
    for n in range(25):
        make_thread(author=world.bob, category=world.nurses, title=f"Another question {n}")
    client = client_for(world.carol) if signed_in else APIClient()
    url = "/api/v1/threads/" + query.format(bob=world.bob.pk)
    with override_settings(HAVEN_PAGE_CACHE=False):
        uncached = client.get(url)
    missed, hit = client.get(url), client.get(url)
    assert uncached.status_code == 200
    for response in (missed, hit):
        assert response.content == uncached.content
        assert _headers(response) == _headers(uncached)


def test_only_the_lists_own_parameters_make_cache_keys(world, django_assert_num_queries):
    client = APIClient()
    for queries in (2, 1):  # a miss (count and keys, rows), then a hit (count and keys)
        with django_assert_num_queries(queries):
            client.get("/api/v1/threads/?page_size=5")
    for _ in range(2):  # never stored: the rows are read each time
        with django_assert_num_queries(2):
            client.get("/api/v1/threads/?page_size=5&nonce=1")


def test_the_browsable_api_is_rendered_as_before(world):
    html = APIClient().get("/api/v1/threads/", HTTP_ACCEPT="text/html")
    assert html.status_code == 200 and html["Content-Type"].startswith("text/html")
    assert b"Lump after surgery" in html.content
    assert APIClient().get("/api/v1/threads/").json()["results"][0]["title"] == "Scans and waiting"


def test_a_page_read_while_a_thread_changes_is_served_but_not_stored(world):
    """A write committed between the page's keys and its rows: the rows are newer than the
    keys say, so the body is answered once and never stored under the older keys."""
    keys = list(
        thread_lists.page_keys(selectors.thread_list(viewer=None).filter(pk=world.thread.pk))
    )
    services.thread_changed(world.thread.pk)
    rows, exact = thread_lists.page_rows(keys)
    assert [t.pk for t in rows] == [world.thread.pk] and not exact
    services.post_hide(actor=world.moderator, post=_opening(world))  # gone from the lists
    rows, exact = thread_lists.page_rows(keys)
    assert rows == [] and not exact


def test_a_dead_cache_serves_the_lists_uncached(world, settings):
    expected = {
        url: APIClient().get(url).content for url in ("/api/v1/threads/", "/c/ask-our-nurses/")
    }
    settings.CACHES = {
        "default": {
            **settings.CACHES["default"],
            "LOCATION": f"redis://127.0.0.1:{closed_port()}/0",
        }
    }
    for url, body in expected.items():
        response = APIClient().get(url)
        assert response.status_code == 200
        assert response.content == body
    followed = client_for(world.carol).get("/api/v1/threads/").json()["results"]
    assert {row["id"]: row["following"] for row in followed}[world.thread.pk] is True


# --- Races ------------------------------------------------------------------------------------

ROUNDS = 12


@pytest.mark.django_db(transaction=True)
def test_renames_racing_replies_and_likes_never_deadlock_and_every_write_counts():
    """A rename moves every thread she wrote in before it locks her row (content first):
    racing her own replies and others' likes in those threads, nothing deadlocks, and each
    write moved the version once at least, none lost."""
    category = CategoryFactory(slug="peers", name="Peers")
    bonnie = UserFactory(display_name="Bonnie52")
    liker = UserFactory(display_name="Liker")
    threads = [make_thread(author=bonnie, category=category, title=f"Thread {n}") for n in range(3)]
    posts = [services.post_create(author=bonnie, thread=t, body="Mine") for t in threads]
    start = {t.pk: version(t) for t in threads}

    def renames() -> None:
        for n in range(ROUNDS):
            accounts_services.user_update_profile(user=bonnie, display_name=f"Bonnie {n}")

    def replies() -> None:
        for n in range(ROUNDS):
            services.post_create(author=bonnie, thread=threads[n % 3], body=f"Reply {n}")

    def likes() -> None:
        for n in range(ROUNDS):
            post = posts[n // 2 % 3]  # liked, then unliked: each call changes it
            if n % 2:
                services.post_unlike(user=liker, post=post)
            else:
                services.post_like(user=liker, post=post)

    assert race([renames, replies, likes]) == []
    moved = sum(version(t) - start[t.pk] for t in threads)
    assert moved >= ROUNDS * 3 + ROUNDS + ROUNDS  # every rename moves all three threads


@pytest.mark.parametrize("announce", ["rename", "erasure"])
@pytest.mark.django_db(transaction=True)
def test_a_reply_racing_its_authors_rename_or_erasure_waits_for_it_and_never_deadlocks(
    monkeypatch, announce
):
    """The rename (or erasure) holds her threads and is made to wait, before it locks her
    row, until her reply is blocked on one of them: the reply must be holding nothing of
    hers then. Django's foreign keys are checked at commit (deferred), which hides the
    danger; the reply here checks them at once, as a non-deferred key would: a reply that
    inserted its post before taking the thread would hold a key share on her row, and the
    two would deadlock the moment the rename asks for it."""
    category = CategoryFactory(slug="peers", name="Peers")
    bonnie = UserFactory(display_name="Bonnie52")
    thread = make_thread(author=bonnie, category=category, title="My own thread")
    was = version(thread)
    threads_locked = threading.Event()
    reply_backend: list[int] = []

    def reply_waits() -> bool:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE pid = %s AND NOT granted)",
                reply_backend,
            )
            return bool(cursor.fetchone()[0])

    def holding_her_threads(lock: Callable[..., Any]) -> Callable[..., Any]:
        def locked_then_wait(*args: Any) -> Any:
            result = lock(*args)
            threads_locked.set()
            assert wait_until(lambda: bool(reply_backend) and reply_waits(), timeout=20)
            return result

        return locked_then_wait

    if announce == "rename":
        lock = accounts_services.shown_name_changed
        monkeypatch.setattr(accounts_services, "shown_name_changed", holding_her_threads(lock))

        def change() -> None:
            accounts_services.user_update_profile(user=bonnie, display_name="Bonnie Renamed")
    else:
        lock = forum_privacy.threads_changed
        monkeypatch.setattr(forum_privacy, "threads_changed", holding_her_threads(lock))

        def change() -> None:
            accounts_privacy.member_erase(user=bonnie)

    def reply() -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            reply_backend.append(cursor.fetchone()[0])
        assert threads_locked.wait(20)
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            services.post_create(author=bonnie, thread=thread, body="Replying meanwhile")

    assert race([change, reply]) == []
    assert Post.objects.filter(thread=thread, body="Replying meanwhile").count() == 1
    assert version(thread) >= was + 2  # each moved it
    assert Thread.objects.get(pk=thread.pk).reply_count == 1


# --- The admin's own writes -------------------------------------------------------------------


def test_a_thread_deleted_by_an_admin_leaves_no_page_behind(world):
    warm = snapshot(world)
    assert snapshot(world) == warm == fresh(world)

    admin_post(world, f"/admin/forum/thread/{world.thread.pk}/delete/", post="yes")

    kept, real = thread_counts()
    assert kept == real and kept[world.nurses.slug] == 1
    after = snapshot(world)
    assert after == fresh(world)
    for page in ("posts", "posts for carol", "posts for a moderator", "detail", "thread page"):
        assert after[page][0] == 404, page
    for page in ("threads", "threads of the category", "threads for carol"):
        client, url = views(world)[page]
        ids = [row["id"] for row in client.get(url).json()["results"]]
        assert world.thread.pk not in ids and world.neighbour.pk in ids, page
    assert b"Lump after surgery" not in after["category page"][1]


def _admin_reloads_then(monkeypatch, admin_class: type, meanwhile: Callable[[], None]) -> None:
    """The admin's change view loads the row, then ``meanwhile`` commits (a reply, a like)
    before the form it posted is saved: what a second request does between the two."""
    load = admin_class.get_object

    def load_then_meanwhile(self: Any, request: Any, object_id: str, from_field: Any = None) -> Any:
        obj = load(self, request, object_id, from_field)
        if request.method == "POST":
            meanwhile()
        return obj

    monkeypatch.setattr(admin_class, "get_object", load_then_meanwhile)


def test_a_thread_retitled_by_an_admin_keeps_a_reply_committed_meanwhile(world, monkeypatch):
    client = Client()
    client.force_login(world.admin)
    url = f"/admin/forum/thread/{world.thread.pk}/change/"
    data = admin_form(client, url, title="Lump after my surgery")
    replied: dict[str, Any] = {}

    def reply() -> None:
        services.post_create(author=world.carol, thread=world.thread, body="Me too")
        replied.update(Thread.objects.values("version", "reply_count").get(pk=world.thread.pk))

    _admin_reloads_then(monkeypatch, ThreadAdmin, reply)
    response = client.post(url, data)

    assert response.status_code == 302, response.content.decode()[-3000:]
    row = Thread.objects.get(pk=world.thread.pk)
    assert row.title == "Lump after my surgery"
    assert row.version > replied["version"]  # never a version the reply's page was keyed by
    assert row.reply_count == replied["reply_count"] == 2
    assert snapshot(world) == fresh(world)


def test_a_post_saved_by_an_admin_keeps_a_like_committed_meanwhile(world, monkeypatch):
    client = Client()
    client.force_login(world.admin)
    url = f"/admin/forum/post/{world.reply.pk}/change/"
    data = admin_form(client, url)
    liked: dict[str, Any] = {}

    def like() -> None:
        services.post_like(user=world.carol, post=world.reply)
        liked["version"] = version(world.thread)

    _admin_reloads_then(monkeypatch, PostAdmin, like)
    response = client.post(url, data)

    assert response.status_code == 302, response.content.decode()[-3000:]
    assert Post.objects.get(pk=world.reply.pk).like_count == 1
    assert Thread.objects.get(pk=world.thread.pk).like_count == 1
    assert version(world.thread) >= liked["version"]
    assert snapshot(world) == fresh(world)


# --- Lock order ---------------------------------------------------------------------------------


def _after_the_name_is_read(then: Callable[[], None]) -> Any:
    """A connection wrapper running ``then`` right after the rename reads the name shown: a
    rename committed between that read and the lock of her row."""
    done: list[bool] = []

    def wrapper(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        result = execute(sql, params, many, context)
        if not done and sql.startswith('SELECT "accounts_user"."display_name" AS'):
            done.append(True)
            then()
        return result

    return connection.execute_wrapper(wrapper)


def _thread_locks_after_her_row(sql: list[str]) -> list[str]:
    row = next(i for i, q in enumerate(sql) if 'FROM "accounts_user"' in q and "FOR UPDATE" in q)
    return [q for q in sql[row:] if '"forum_thread"' in q and ("UPDATE" in q or "FOR " in q)]


@pytest.mark.parametrize("asked", ["Bonnie52", "Bonnie Renamed"])
def test_a_rename_racing_another_locks_her_threads_before_her_row_only(world, asked):
    """Her threads are locked (and moved on) before her row, never after it, even when
    another rename committed between the name read and the row lock: a request that asked
    for the name shown then is taken as having come first (the other's name stays)."""
    bonnie = UserFactory(display_name="Bonnie52")
    thread = make_thread(author=bonnie, category=world.peers, title="Her own thread")
    was = version(thread)

    def other_rename() -> None:
        User.objects.filter(pk=bonnie.pk).update(display_name="Bonnie Other")

    with _after_the_name_is_read(other_rename), CaptureQueriesContext(connection) as q:
        accounts_services.user_update_profile(user=bonnie, display_name=asked)

    sql = [query["sql"] for query in q.captured_queries]
    assert _thread_locks_after_her_row(sql) == [], sql
    expected = "Bonnie Other" if asked == "Bonnie52" else asked
    assert User.objects.get(pk=bonnie.pk).display_name == expected, sql
    assert version(thread) == was + (asked != "Bonnie52")
