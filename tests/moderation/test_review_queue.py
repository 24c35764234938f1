"""The review queue: what moderators see, claims, and every resolution's effect on the post's
visibility, the thread's counters, the author's notifications, the flags and the audit log."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.roles import Role
from core.models import AuditEntry
from forum.models import Notification, Post, Thread
from forum.services import post_create, post_hide, thread_follow
from moderation.flags import flag_create
from moderation.models import Flag, ReviewItem
from moderation.review import review_raise
from tests.factories import UserFactory, make_thread, run_fan_out
from tests.utils import client_for, race

pytestmark = pytest.mark.django_db
QUEUE = "/api/v1/moderation/queue/"


def flags(post, *reasons):
    for reason in reasons:
        flag_create(flagger=UserFactory(), post=post, reason=reason)
    return ReviewItem.objects.get(post=post, status="pending")


def held_reply(thread, author=None):
    """A reply held for approval, as the forum's screening leaves it (engineer A's side)."""
    post = post_create(author=author or UserFactory(), thread=thread, body="Held reply")
    Post.objects.filter(pk=post.pk).update(status=Post.Status.PENDING)
    Thread.objects.filter(pk=thread.pk).update(reply_count=0)
    Notification.objects.filter(post=post).delete()  # a held post tells nobody yet
    post.refresh_from_db()
    review_raise(post=post, reasons=["held"], held=True)
    return post


def resolve(moderator, item, action, note=""):
    return client_for(moderator).post(
        f"{QUEUE}{item.pk}/resolve/", {"action": action, "note": note}, format="json"
    )


@pytest.fixture
def thread(db):
    return make_thread(author=UserFactory(display_name="Opener"))


@pytest.fixture
def reply(thread):
    return post_create(author=UserFactory(display_name="Replier"), thread=thread, body="Hmm")


def test_moderators_see_pending_items_urgent_first_then_oldest(thread, moderator):
    now = timezone.now()
    posts = [post_create(author=UserFactory(), thread=thread, body=f"P{n}") for n in range(3)]
    with time_machine.travel(now - timedelta(hours=3)):
        oldest = flags(posts[0], "spam")
    with time_machine.travel(now - timedelta(hours=2)):
        urgent = flags(posts[1], "safeguarding")
    with time_machine.travel(now - timedelta(hours=1)):
        newest = flags(posts[2], "inappropriate", "inappropriate")

    response = client_for(moderator).get(QUEUE)
    assert response.status_code == 200
    rows = response.json()["results"]
    assert [r["id"] for r in rows] == [urgent.pk, oldest.pk, newest.pk]
    row = rows[2]
    assert row["reasons"] == {"inappropriate": 2} and row["score"] == 6
    assert row["status"] == "pending" and not row["urgent"] and not row["claimed"]
    assert row["post"]["id"] == posts[2].pk and row["post"]["thread_title"] == thread.title
    assert row["post"]["body_html"] == "<p>P2</p>\n"
    assert row["post"]["author"]["display_name"] == posts[2].author.display_name
    assert [f["reason"] for f in row["flags"]] == ["inappropriate", "inappropriate"]
    flagger = Flag.objects.filter(post=posts[2]).order_by("id").first().flagger
    assert row["flags"][0]["flagger"] == {
        "id": flagger.pk,
        "display_name": flagger.display_name,
        "role": "member",
        "title": None,
    }


def test_the_queue_filters_by_reason_status_and_urgency(thread, moderator):
    a, b, c = (post_create(author=UserFactory(), thread=thread, body=f"P{n}") for n in range(3))
    spam = flags(a, "spam", "other")
    urgent = flags(b, "safeguarding")
    done = flags(c, "spam")
    assert resolve(moderator, done, "dismiss").status_code == 200
    client = client_for(moderator)

    def ids(**query):
        response = client.get(QUEUE, query)
        assert response.status_code == 200, response.json()
        return [r["id"] for r in response.json()["results"]]

    assert ids() == [urgent.pk, spam.pk]
    assert ids(reason="other") == [spam.pk]
    assert ids(reason="safeguarding") == [urgent.pk]
    assert ids(urgent="true") == [urgent.pk]
    assert ids(urgent="false") == [spam.pk]
    assert ids(status="dismissed") == [done.pk]
    assert ids(status="dismissed", reason="spam") == [done.pk]
    assert ids(status="approved") == []
    for bad in ({"reason": "boring"}, {"status": "open"}, {"urgent": "yes"}):
        response = client.get(QUEUE, bad)
        assert response.status_code == 400 and set(bad) <= set(response.json()["fields"])


def test_only_moderators_read_or_work_the_queue(reply, moderator, nurse):
    item = flags(reply, "spam")
    assert APIClient().get(QUEUE).status_code == 401
    for outsider in (UserFactory(), nurse, reply.author):
        client = client_for(outsider)
        for response in (
            client.get(QUEUE),
            client.post(f"{QUEUE}{item.pk}/claim/", {}, format="json"),
            client.post(f"{QUEUE}{item.pk}/resolve/", {"action": "hide"}, format="json"),
        ):
            assert response.status_code == 403 and response.json()["code"] == "not_moderator"
    item.refresh_from_db()
    assert item.status == "pending" and item.claimed_by is None
    assert client_for(moderator).post(f"{QUEUE}999999/claim/", {}).status_code == 404


@pytest.mark.parametrize("size", [2, 20])
def test_the_queue_costs_the_same_queries_for_2_or_20_items(
    size, moderator, django_assert_num_queries
):
    thread = make_thread(author=UserFactory())
    for n in range(size):
        post = post_create(author=UserFactory(), thread=thread, body=f"P{n}")
        flags(post, "spam", "misinformation")
    client = client_for(moderator)
    # The moderator's permissions (user, groups), then count, page, flags.
    with django_assert_num_queries(5):
        response = client.get(QUEUE)
    assert len(response.json()["results"]) == size


def test_a_claim_keeps_other_moderators_off_until_released_or_lapsed(reply, moderator, settings):
    other = UserFactory(display_name="Mod Two", role=Role.MODERATOR)
    item = flags(reply, "spam")
    claim = f"{QUEUE}{item.pk}/claim/"
    taken = client_for(moderator).post(claim, {}, format="json")
    assert taken.status_code == 200
    assert taken.json()["claimed"] and taken.json()["claimed_by_me"]
    assert client_for(moderator).post(claim, {}, format="json").status_code == 200  # renewed
    seen_by_other = client_for(other).get(QUEUE).json()["results"][0]
    assert seen_by_other["claimed"] and not seen_by_other["claimed_by_me"]

    refused = client_for(other).post(claim, {}, format="json")
    assert refused.status_code == 409 and refused.json()["code"] == "claimed_by_other"
    refused = resolve(other, item, "hide")
    assert refused.status_code == 409 and refused.json()["code"] == "claimed_by_other"
    reply.refresh_from_db()
    assert reply.status == "visible"

    released = client_for(moderator).post(claim, {"release": True}, format="json")
    assert released.status_code == 200 and not released.json()["claimed"]
    assert client_for(other).post(claim, {}, format="json").json()["claimed_by_me"]

    later = timezone.now() + timedelta(minutes=settings.HAVEN_REVIEW_CLAIM_MINUTES + 1)
    with time_machine.travel(later):
        assert not client_for(moderator).get(QUEUE).json()["results"][0]["claimed"]
        assert resolve(moderator, item, "dismiss").status_code == 200


def _closed_with_audit(item, moderator, action, note=""):
    item.refresh_from_db()
    assert item.resolved_by == moderator and item.resolved_at is not None
    assert item.note == note
    assert not Flag.objects.filter(review_item=item, is_open=True).exists()
    entry = AuditEntry.objects.for_target(item).get(action="review_resolved")
    assert entry.actor_id == moderator.pk and entry.reason == note
    assert entry.data["action"] == action and entry.data["item"] == item.pk
    return item


def test_approve_publishes_a_held_reply_counts_it_and_tells_followers_and_author(thread, moderator):
    follower = UserFactory()
    thread_follow(user=follower, thread=thread)
    post = held_reply(thread)
    item = ReviewItem.objects.get(post=post)
    assert item.held
    assert not Notification.objects.filter(recipient=follower, post=post).exists()

    response = resolve(moderator, item, "approve", note="Welcome!")
    run_fan_out()  # the approved reply's job, after the commit
    assert response.status_code == 200
    assert (
        response.json()["status"] == "approved" and response.json()["post"]["status"] == "visible"
    )
    post.refresh_from_db()
    assert post.status == "visible"
    assert Thread.objects.get(pk=thread.pk).reply_count == 1
    assert Notification.objects.filter(recipient=follower, post=post, kind="reply").exists()
    approved = Notification.objects.get(recipient=post.author, kind="post_approved")
    assert approved.note == "Welcome!"
    _closed_with_audit(item, moderator, "approve", "Welcome!")
    assert AuditEntry.objects.for_target(post).filter(action="post_approved").exists()


def test_reject_refuses_a_held_reply_and_tells_its_author_why(thread, moderator):
    post = held_reply(thread)
    item = ReviewItem.objects.get(post=post)
    response = resolve(moderator, item, "reject", note="Please keep it kind.")
    assert response.status_code == 200 and response.json()["status"] == "rejected"
    post.refresh_from_db()
    assert post.status == "hidden"
    assert Thread.objects.get(pk=thread.pk).reply_count == 0
    told = Notification.objects.get(recipient=post.author, kind="post_rejected")
    assert told.note == "Please keep it kind."
    _closed_with_audit(item, moderator, "reject", "Please keep it kind.")


def test_reject_and_hide_hide_a_flagged_visible_post_and_tell_its_author(thread, moderator):
    for action in ("reject", "hide"):
        post = post_create(author=UserFactory(), thread=thread, body=f"To {action}")
        item = flags(post, "inappropriate")
        count = Thread.objects.get(pk=thread.pk).reply_count
        response = resolve(moderator, item, action, note="Not in the spirit of the forum.")
        assert response.status_code == 200
        assert response.json()["status"] == {"reject": "rejected", "hide": "hidden"}[action]
        post.refresh_from_db()
        assert post.status == "hidden"
        assert Thread.objects.get(pk=thread.pk).reply_count == count - 1
        told = Notification.objects.get(recipient=post.author, kind="post_hidden")
        assert told.note == "Not in the spirit of the forum."
        _closed_with_audit(item, moderator, action, "Not in the spirit of the forum.")


def test_approve_and_dismiss_restore_a_post_the_flag_threshold_hid(thread, moderator):
    for action in ("approve", "dismiss"):
        post = post_create(author=UserFactory(), thread=thread, body=f"To {action}")
        item = flags(post, "spam", "spam", "other")
        post.refresh_from_db()
        assert post.status == "hidden"
        count = Thread.objects.get(pk=thread.pk).reply_count
        assert resolve(moderator, item, action).status_code == 200
        post.refresh_from_db()
        assert post.status == "visible"
        assert Thread.objects.get(pk=thread.pk).reply_count == count + 1
        _closed_with_audit(item, moderator, action)
        assert AuditEntry.objects.for_target(post).filter(action="post_restored").exists()


def test_dismiss_leaves_a_post_a_moderator_hid_hidden_and_a_visible_one_visible(thread, moderator):
    hidden = post_create(author=UserFactory(), thread=thread, body="Hidden by a moderator")
    item = flags(hidden, "spam")
    post_hide(actor=moderator, post=hidden, reason="Spam link")
    visible = post_create(author=UserFactory(), thread=thread, body="Fine")
    other = flags(visible, "misinformation")

    assert resolve(moderator, item, "dismiss").json()["status"] == "dismissed"
    assert resolve(moderator, other, "dismiss", note="Accurate").status_code == 200
    hidden.refresh_from_db()
    visible.refresh_from_db()
    assert (hidden.status, visible.status) == ("hidden", "visible")
    assert not Notification.objects.filter(recipient=visible.author).exists()
    _closed_with_audit(other, moderator, "dismiss", "Accurate")


def test_restore_shows_a_hidden_post_and_refuses_a_visible_one_changing_nothing(thread, moderator):
    post = post_create(author=UserFactory(), thread=thread, body="Hidden then restored")
    item = flags(post, "spam")
    refused = resolve(moderator, item, "restore")
    assert refused.status_code == 409 and refused.json()["code"] == "not_hidden"
    item.refresh_from_db()
    assert item.status == "pending" and Flag.objects.filter(review_item=item, is_open=True).count()
    assert not AuditEntry.objects.filter(action="review_resolved").exists()

    post_hide(actor=moderator, post=post, reason="Checking")
    assert resolve(moderator, item, "restore").json()["status"] == "approved"
    post.refresh_from_db()
    assert post.status == "visible"
    _closed_with_audit(item, moderator, "restore")


def test_a_held_post_is_approved_or_rejected_not_dismissed(thread, moderator):
    item = ReviewItem.objects.get(post=held_reply(thread))
    refused = resolve(moderator, item, "dismiss")
    assert refused.status_code == 409 and refused.json()["code"] == "still_held"
    item.refresh_from_db()
    assert item.status == "pending"


def test_a_resolved_item_cannot_be_resolved_or_claimed_again(reply, moderator):
    item = flags(reply, "spam")
    assert resolve(moderator, item, "dismiss").status_code == 200
    again = resolve(moderator, item, "hide")
    assert again.status_code == 409 and again.json()["code"] == "already_resolved"
    claim = client_for(moderator).post(f"{QUEUE}{item.pk}/claim/", {}, format="json")
    assert claim.status_code == 409 and claim.json()["code"] == "already_resolved"
    reply.refresh_from_db()
    assert reply.status == "visible"
    bad = resolve(moderator, item, "delete")
    assert bad.status_code == 400 and "action" in bad.json()["fields"]


@pytest.mark.django_db(transaction=True)
def test_two_moderators_resolving_one_item_at_once_one_wins():
    thread = make_thread(author=UserFactory())
    post = post_create(author=UserFactory(), thread=thread, body="Contested")
    item = flags(post, "spam")
    first = UserFactory(display_name="Mod One", role=Role.MODERATOR)
    second = UserFactory(display_name="Mod Two", role=Role.MODERATOR)
    answers: list[tuple[int, str]] = []

    def work(moderator, action):
        def run() -> None:
            response = resolve(moderator, item, action, note=action)
            answers.append((response.status_code, response.json().get("code", "")))

        return run

    assert race([work(first, "hide"), work(second, "dismiss")]) == []
    assert sorted(answers) == [(200, ""), (409, "already_resolved")]
    item.refresh_from_db()
    post.refresh_from_db()
    assert AuditEntry.objects.filter(action="review_resolved").count() == 1
    assert post.status == ("hidden" if item.status == "hidden" else "visible")
    assert Notification.objects.filter(kind="post_hidden").count() == (item.status == "hidden")


def test_a_hiding_by_flags_confirmed_by_a_moderator_tells_the_author_her_note(
    reply, moderator, settings
):
    settings.HAVEN_FLAG_HIDE_THRESHOLD = 2
    item = flags(reply, "spam", "inappropriate")
    reply.refresh_from_db()
    assert reply.status == Post.Status.HIDDEN
    note = "We hid this because it sells supplements. " * 20  # longer than a reason may be
    assert len(note) > 500
    response = resolve(moderator, item, "hide", note=note)
    assert response.status_code == 200, response.json()

    told = Notification.objects.filter(recipient=reply.author, kind="post_hidden")
    assert [n.note for n in told.order_by("sequence")] == ["", note.strip()]
    entry = AuditEntry.objects.filter(action="post_hidden", actor_id=moderator.pk).get()
    assert entry.reason.endswith("…") and len(entry.reason) == 500
    assert AuditEntry.objects.get(action="review_resolved").reason == note.strip()


def test_a_long_note_resolves_any_action(thread, moderator):
    note = "x" * 900
    for action in ("hide", "restore"):
        post = post_create(author=UserFactory(), thread=thread, body=f"To {action}")
        if action == "restore":
            post_hide(actor=moderator, post=post, reason="First")
        item = review_raise(post=post, reasons=["other"])
        assert resolve(moderator, item, action, note=note).status_code == 200
