"""The forum in the Django admin: find, read and close threads; posts never by <select>."""

import pytest

from accounts.roles import Role
from core.models import AuditEntry
from forum.models import Like, Post, Thread
from forum.services import post_create, post_like
from tests.factories import CategoryFactory, UserFactory, make_thread

pytestmark = pytest.mark.django_db


@pytest.fixture
def thread():
    asker = UserFactory(display_name="Sparrowhawk")
    thread = make_thread(author=asker, category=CategoryFactory(slug="ask-our-nurses"))
    reply = post_create(author=UserFactory(display_name="Bonnie52"), thread=thread, body="Hi")
    post_like(user=asker, post=reply)
    return thread


def test_threads_are_searchable_and_filterable(admin_client, thread):
    make_thread(title="Hair loss during chemotherapy")
    page = admin_client.get("/admin/forum/thread/", {"q": "recurrence"}).content.decode()
    assert "Treatment for a local recurrence" in page
    assert "Hair loss" not in page
    page = admin_client.get(
        "/admin/forum/thread/", {"category__id__exact": thread.category_id, "status__exact": "open"}
    ).content.decode()
    assert "Treatment for a local recurrence" in page
    assert "Hair loss" not in page


def test_a_thread_page_shows_the_question_and_links_to_its_posts(admin_client, thread):
    page = admin_client.get(f"/admin/forum/thread/{thread.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "What treatments might be offered" in html
    assert f"/admin/forum/post/?thread__id__exact={thread.pk}" in html
    assert "All 2 posts" in html


def test_close_and_reopen_actions_go_through_the_services(client, thread):
    moderator = UserFactory(display_name="Site Moderator", role=Role.MODERATOR, is_superuser=True)
    client.force_login(moderator)
    response = client.post(
        "/admin/forum/thread/", {"action": "close_threads", "_selected_action": [thread.pk]}
    )
    assert response.status_code == 302
    thread.refresh_from_db()
    assert thread.status == "closed"
    assert thread.closed_by == moderator
    assert (thread.closed_by_role, thread.closed_by_title) == ("moderator", "Moderator")
    assert Post.objects.filter(thread=thread, kind="system").count() == 1
    assert AuditEntry.objects.for_target(thread).filter(action="thread_closed").exists()

    client.post(
        "/admin/forum/thread/", {"action": "reopen_threads", "_selected_action": [thread.pk]}
    )
    thread.refresh_from_db()
    assert thread.status == "open"
    assert thread.closed_at is None


def test_an_admin_without_a_staff_role_is_not_offered_the_close_action(admin_client, thread):
    """Closing shows who closed by staff title: a superuser without a role has none."""
    page = admin_client.get("/admin/forum/thread/").content.decode()
    assert "close_threads" not in page
    admin_client.post(
        "/admin/forum/thread/", {"action": "close_threads", "_selected_action": [thread.pk]}
    )
    thread.refresh_from_db()
    assert thread.status == "open"


def test_posts_are_read_only_in_the_admin_and_never_a_select_of_threads(admin_client, thread):
    post = Post.objects.filter(thread=thread).first()
    html = admin_client.get(f"/admin/forum/post/{post.pk}/change/").content.decode()
    assert 'name="body"' not in html  # text changes go through the services
    assert '<select name="thread"' not in html
    listing = admin_client.get(
        "/admin/forum/post/", {"q": "Hi", "kind__exact": "post", "thread__id__exact": thread.pk}
    )
    assert listing.status_code == 200
    assert admin_client.get("/admin/forum/post/add/").status_code == 403


def test_likes_are_read_only(admin_client, thread):
    like = Like.objects.get()
    assert admin_client.get("/admin/forum/like/").status_code == 200
    assert admin_client.get("/admin/forum/like/add/").status_code == 403
    response = admin_client.post(f"/admin/forum/like/{like.pk}/change/", {})
    assert response.status_code == 403
    assert (
        admin_client.post(f"/admin/forum/like/{like.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    assert Thread.objects.get(pk=thread.pk).like_count == 1
