"""Every edit of someone else's post keeps the text it replaced, for moderators to see."""

import pytest
from rest_framework.test import APIClient

from accounts.models import User
from accounts.roles import Role
from core.models import AuditEntry
from forum.models import Post, PostRevision
from forum.services import post_create, post_edit
from tests.factories import UserFactory, make_thread
from tests.utils import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def people():
    return (
        UserFactory(display_name="Sparrowhawk"),
        UserFactory(display_name="Oliver Brown", role=Role.MODERATOR),
    )


@pytest.fixture
def post(people):
    author, _ = people
    return Post.objects.get(thread=make_thread(author=author, body="My phone is 07700 900123"))


def test_a_moderator_edit_keeps_the_text_it_replaced_with_the_reason(people, post):
    _, moderator = people
    response = client_for(moderator).patch(
        f"/api/v1/posts/{post.pk}/",
        {"body": "[phone number removed]", "reason": "Personal details"},
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["edited_at"] is not None
    revision = PostRevision.objects.get(post=post)
    assert (revision.body, revision.editor, revision.reason) == (
        "My phone is 07700 900123",
        moderator,
        "Personal details",
    )
    entry = AuditEntry.objects.for_target(post).get()
    assert (entry.action, entry.actor_id, entry.reason) == (
        "post_edited",
        moderator.pk,
        "Personal details",
    )
    assert entry.data == {"revision": revision.pk}

    listed = client_for(moderator).get(f"/api/v1/posts/{post.pk}/revisions/")
    assert listed.status_code == 200
    assert listed.json()["results"] == [
        {
            "id": revision.pk,
            "body": "My phone is 07700 900123",
            "editor": {
                "id": None,
                "display_name": "Moderator",
                "role": "moderator",
                "title": "Moderator",
            },
            "reason": "Personal details",
            "created_at": listed.json()["results"][0]["created_at"],
        }
    ]


def test_a_moderator_deletion_keeps_the_text_and_the_reason_too(people, post):
    _, moderator = people
    reply = post_create(author=UserFactory(), thread=post.thread, body="Buy cheap pills here")
    url = f"/api/v1/posts/{reply.pk}/"
    too_long = client_for(moderator).delete(url, {"reason": "x" * 501}, format="json")
    assert (too_long.status_code, list(too_long.json()["fields"])) == (400, ["reason"])
    assert Post.objects.get(pk=reply.pk).status == "visible"

    response = client_for(moderator).delete(url, {"reason": "Spam"}, format="json")
    assert response.status_code == 200
    revision = PostRevision.objects.get(post=reply)
    assert (revision.body, revision.reason) == ("Buy cheap pills here", "Spam")
    entry = AuditEntry.objects.for_target(reply).get()
    assert (entry.action, entry.reason) == ("post_deleted", "Spam")


def test_a_deletion_needs_no_reason(people, post):
    author, _ = people
    reply = post_create(author=author, thread=post.thread, body="Posted twice")
    assert client_for(author).delete(f"/api/v1/posts/{reply.pk}/").status_code == 200


def test_a_members_own_edits_keep_no_history_and_the_same_text_changes_nothing(people, post):
    author, moderator = people
    assert (
        client_for(author)
        .patch(f"/api/v1/posts/{post.pk}/", {"body": "My phone is private"}, format="json")
        .json()["edited_at"]
    )
    assert not PostRevision.objects.exists()
    assert not AuditEntry.objects.filter(action="post_edited").exists()
    post.refresh_from_db()
    edited_at = post.edited_at
    post_edit(user=moderator, post=post, body="My phone is private")
    post.refresh_from_db()
    assert post.edited_at == edited_at
    assert not PostRevision.objects.exists()


def test_only_moderators_see_revisions(people, post):
    author, _ = people
    url = f"/api/v1/posts/{post.pk}/revisions/"
    assert APIClient().get(url).status_code == 401
    response = client_for(author).get(url)
    assert (response.status_code, response.json()["code"]) == (403, "not_moderator")
    nurse = client_for(UserFactory(role=Role.NURSE)).get(url)
    assert nurse.status_code == 403
    assert (
        client_for(UserFactory(role=Role.MODERATOR))
        .get("/api/v1/posts/424242/revisions/")
        .status_code
        == 404
    )


@pytest.mark.parametrize("edits", [2, 25])
def test_the_revisions_page_costs_the_same_whatever_their_number(
    people, post, edits, django_assert_num_queries
):
    _, moderator = people
    editors = [moderator, UserFactory(role=Role.MODERATOR)]
    for n in range(edits):
        # A superuser with no role edits as herself: her member identity is joined in.
        editor = editors[n % 2] if n % 4 else UserFactory(is_superuser=True)
        post_edit(user=editor, post=post, body=f"Version {n}")
    client = client_for(User.objects.get(pk=moderator.pk))  # as a request loads her
    # The moderator's permissions (2), the post, the page of revisions with their editors.
    with django_assert_num_queries(4):
        response = client.get(f"/api/v1/posts/{post.pk}/revisions/")
    assert response.status_code == 200
    assert len(response.json()["results"]) == min(edits, 20)


def test_the_admin_shows_a_posts_revisions_read_only(admin_client, people, post):
    _, moderator = people
    post_edit(user=moderator, post=post, body="[removed]", reason="Personal details")
    html = admin_client.get(f"/admin/forum/post/{post.pk}/change/").content.decode()
    assert "My phone is 07700 900123" in html
    assert "Personal details" in html
    assert 'name="revisions-0-body"' not in html  # shown, never editable
