"""Whatever a member types, what the API hands to a browser as HTML is safe."""

import pytest

from forum.models import Post
from tests.factories import CategoryFactory
from tests.forum.test_rendering import XSS_PAYLOADS, assert_safe

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_script_in_a_thread_or_reply_never_survives(member_client, payload):
    CategoryFactory(slug="recurrence")
    created = member_client.post(
        "/api/v1/threads/",
        {"category": "recurrence", "title": f"Title {payload}"[:200], "body": payload},
        format="json",
    )
    assert created.status_code == 201, created.json()
    assert_safe(created.json()["first_post"]["body_html"])
    # Titles are plain text, never HTML: served as JSON strings, for clients to escape.
    assert created["Content-Type"] == "application/json"
    assert created.json()["title"] == " ".join(f"Title {payload}"[:200].split())

    thread_id = created.json()["id"]
    reply = member_client.post(
        f"/api/v1/threads/{thread_id}/posts/", {"body": payload}, format="json"
    )
    assert_safe(reply.json()["body_html"])
    edited = member_client.patch(
        f"/api/v1/posts/{reply.json()['id']}/", {"body": f"edited {payload}"}, format="json"
    )
    assert_safe(edited.json()["body_html"])
    for post in Post.objects.filter(thread_id=thread_id):
        assert_safe(post.body_html)
