"""Watched words through the API, as members meet them: on new threads, replies and edits."""

import pytest

from forum.models import Post, Thread
from moderation.models import ReviewItem, WatchedWord
from moderation.watched import watched_word_save
from tests.factories import CategoryFactory, UserFactory, make_thread
from tests.utils import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def words(db):
    for word, action, match in (
        ("bitcoin", WatchedWord.Action.BLOCK, WatchedWord.Match.WORD),
        ("miracle cure", WatchedWord.Action.HOLD, WatchedWord.Match.PHRASE),
        ("apricot kernels", WatchedWord.Action.FLAG, WatchedWord.Match.PHRASE),
        ("graphic detail", WatchedWord.Action.SENSITIVE, WatchedWord.Match.PHRASE),
    ):
        watched_word_save(word=word, action=action, match=match)


@pytest.fixture
def thread(db):
    return make_thread(author=UserFactory(display_name="Opener"), title="Coping with fatigue")


def reply(user, thread, body):
    return client_for(user).post(
        f"/api/v1/threads/{thread.pk}/posts/", {"body": body}, format="json"
    )


def test_a_blocked_word_refuses_the_reply_naming_nothing(words, thread):
    before = Post.objects.count()
    response = reply(UserFactory(), thread, "Invest in BITCOIN today")
    assert response.status_code == 400
    assert response.json()["code"] == "blocked_content"
    assert "bitcoin" not in response.content.decode().lower()
    assert Post.objects.count() == before


def test_a_blocked_word_in_a_title_refuses_the_thread(words):
    category = CategoryFactory()
    response = client_for(UserFactory()).post(
        "/api/v1/threads/",
        {"category": category.slug, "title": "Bitcoin tips", "body": "Hello all"},
        format="json",
    )
    assert response.status_code == 400 and response.json()["code"] == "blocked_content"
    assert not Thread.objects.filter(title="Bitcoin tips").exists()


def test_a_hold_word_holds_the_reply_for_review(words, thread):
    response = reply(UserFactory(), thread, "My Miracle   Cure story")
    assert response.status_code == 202
    assert response.json()["status"] == "pending"
    item = ReviewItem.objects.get(post_id=response.json()["id"])
    assert item.held and not item.urgent and item.reasons == {"watched_word": 1}
    thread.refresh_from_db()
    assert thread.reply_count == 0


def test_a_flag_word_publishes_and_queues(words, thread):
    response = reply(UserFactory(), thread, "Apricot kernels worked for me")
    assert response.status_code == 201 and response.json()["status"] == "visible"
    item = ReviewItem.objects.get(post_id=response.json()["id"])
    assert not item.held and item.reasons == {"watched_word": 1}


def test_a_sensitive_word_marks_the_post_for_every_reader(words, thread):
    response = reply(UserFactory(), thread, "Some graphic detail of my wound")
    assert response.status_code == 201 and response.json()["sensitive"] is True
    page = client_for(UserFactory()).get(f"/api/v1/threads/{thread.pk}/posts/").json()
    assert [p["sensitive"] for p in page["results"]] == [False, True]
    assert not ReviewItem.objects.exists()


def test_a_safeguarding_phrase_signposts_the_author_and_raises_an_urgent_item(thread):
    author = UserFactory()
    response = reply(author, thread, "Some nights I want to end my life.")
    assert response.status_code == 201
    post = response.json()
    assert post["status"] == "visible"  # not hidden by this alone
    assert post["support"]["kind"] == "crisis"
    assert "116 123" in post["support"]["html"] and "999" in post["support"]["html"]
    item = ReviewItem.objects.get(post_id=post["id"])
    assert item.urgent and item.reasons == {"safeguarding": 1}

    # On the post, for its author only.
    mine = client_for(author).get(f"/api/v1/threads/{thread.pk}/posts/").json()["results"]
    theirs = client_for(UserFactory()).get(f"/api/v1/threads/{thread.pk}/posts/").json()
    assert "116 123" in mine[-1]["support"]["html"]
    assert theirs["results"][-1]["support"] is None


def test_an_edit_is_screened_like_a_new_post(words, thread):
    author = UserFactory()
    post = reply(author, thread, "Fine so far.").json()
    edit = client_for(author).patch(
        f"/api/v1/posts/{post['id']}/", {"body": "Buy bitcoin"}, format="json"
    )
    assert edit.status_code == 400 and edit.json()["code"] == "blocked_content"
    assert Post.objects.get(pk=post["id"]).body == "Fine so far."

    # A hold word in an edit never hides a post already shown: it is raised for review.
    edit = client_for(author).patch(
        f"/api/v1/posts/{post['id']}/", {"body": "My miracle cure"}, format="json"
    )
    assert edit.status_code == 200 and edit.json()["status"] == "visible"
    assert ReviewItem.objects.get(post_id=post["id"]).reasons == {"watched_word": 1}

    edit = client_for(author).patch(
        f"/api/v1/posts/{post['id']}/", {"body": "I want to end my life"}, format="json"
    )
    assert edit.status_code == 200
    assert edit.json()["support"]["kind"] == "crisis"
    item = ReviewItem.objects.get(post_id=post["id"])
    assert item.urgent and item.reasons == {"watched_word": 1, "safeguarding": 1}


def test_a_new_members_edit_holds_nothing_twice(thread, settings):
    """Being new concerns new posts: her edit of a held post is not raised again."""
    settings.HAVEN_NEW_MEMBER_HOLD_POSTS = 5
    author = UserFactory()
    post = reply(author, thread, "First words.")
    assert post.status_code == 202  # new: held
    edit = client_for(author).patch(
        f"/api/v1/posts/{post.json()['id']}/", {"body": "First words, edited."}, format="json"
    )
    assert edit.status_code == 200 and edit.json()["status"] == "pending"
    assert ReviewItem.objects.get(post_id=post.json()["id"]).reasons == {"held": 1}


def test_an_edit_by_a_member_in_pre_moderation_is_reviewed_and_stays_shown(thread):
    author = UserFactory()
    post = reply(author, thread, "Written before pre-moderation.").json()
    moderator = UserFactory(role="moderator")
    held = client_for(moderator).post(
        f"/api/v1/moderation/members/{author.pk}/premoderate/",
        {"until": None, "reason": "Links"},
        format="json",
    )
    assert held.status_code == 200, held.json()
    author.refresh_from_db()  # as her next request loads her
    edit = client_for(author).patch(
        f"/api/v1/posts/{post['id']}/", {"body": "Now with a shop link."}, format="json"
    )
    assert edit.status_code == 200 and edit.json()["status"] == "visible"
    item = ReviewItem.objects.get(post_id=post["id"])
    assert item.reasons == {"premoderated": 1} and not item.held and not item.urgent
