"""The forum in the Django admin: find, read, close, move threads and hide posts through the
audited services (each action asks a reason first); posts never by <select>."""

import pytest
from django.contrib.auth.models import Permission

from accounts.roles import Role
from core.models import AuditEntry
from forum.models import Like, Notification, Post, Thread
from forum.services import post_create, post_hide, post_like
from tests.factories import CategoryFactory, UserFactory, make_thread
from tests.utils import admin_form

pytestmark = pytest.mark.django_db
THREADS = "/admin/forum/thread/"
POSTS = "/admin/forum/post/"


def staff(role, *codenames):
    """A staff member of ``role`` who may see the admin pages ``codenames`` (view_*)."""
    user = UserFactory(role=role, is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return user


def act(client, url, action, rows, **fields):
    """The action's page, then "apply" with ``fields`` typed in (a browser's two posts)."""
    selected = {"action": action, "_selected_action": [row.pk for row in rows]}
    page = client.post(url, selected)
    assert page.status_code == 200, page.status_code
    for row in rows:
        assert str(row) in page.content.decode()
    return client.post(url, {**selected, "apply": "1", **fields}, follow=True)


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


def test_close_and_reopen_ask_a_reason_and_go_through_the_services(client, thread):
    moderator = staff(Role.MODERATOR, "view_thread")
    client.force_login(moderator)
    page = client.post(THREADS, {"action": "close_threads", "_selected_action": [thread.pk]})
    assert 'name="reason"' in page.content.decode()
    assert Thread.objects.get(pk=thread.pk).status == "open"  # nothing until applied

    response = act(client, THREADS, "close_threads", [thread], reason="Answered in full")
    assert "Close: 1 thread." in response.content.decode()
    thread.refresh_from_db()
    assert thread.status == "closed" and thread.close_reason == "Answered in full"
    assert thread.closed_by == moderator
    assert (thread.closed_by_role, thread.closed_by_title) == ("moderator", "Moderator")
    assert Post.objects.get(thread=thread, kind="system").body == "Answered in full"

    act(client, THREADS, "reopen_threads", [thread], reason="Asked to")
    thread.refresh_from_db()
    assert thread.status == "open"
    assert thread.closed_at is None
    entries = AuditEntry.objects.for_target(thread).order_by("id")
    assert [(e.action, e.actor_id, e.reason) for e in entries] == [
        ("thread_closed", moderator.pk, "Answered in full"),
        ("thread_reopened", moderator.pk, "Asked to"),
    ]


def test_a_refusal_is_reported_per_thread_and_the_others_done(client, thread):
    client.force_login(staff(Role.MODERATOR, "view_thread"))
    other = make_thread(title="Hair loss during chemotherapy")
    act(client, THREADS, "close_threads", [other], reason="")
    response = act(client, THREADS, "close_threads", [thread, other], reason="Done")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Hair loss during chemotherapy: This thread is already closed." in html
    assert "Close: 1 thread." in html
    assert Thread.objects.get(pk=thread.pk).status == "closed"
    too_long = act(client, THREADS, "reopen_threads", [thread], reason="x" * 501)
    assert too_long.status_code == 200 and "at most 500 characters" in too_long.content.decode()
    assert Thread.objects.get(pk=thread.pk).status == "closed"  # the form refused: nothing


def test_a_thread_the_service_cannot_see_is_reported_not_an_error_page(client, thread):
    moderator = staff(Role.MODERATOR, "view_thread")
    client.force_login(moderator)
    post_hide(actor=moderator, post=Post.objects.filter(thread=thread).earliest("created_at"))
    response = act(client, THREADS, "close_threads", [thread], reason="")
    assert response.status_code == 200
    assert f"{thread}: No such thread." in response.content.decode()
    assert Thread.objects.get(pk=thread.pk).status == "open"


def test_move_asks_a_category_and_a_reason_then_moves_audited(client, thread):
    moderator = staff(Role.MODERATOR, "view_thread")
    client.force_login(moderator)
    general = CategoryFactory(slug="general", name="General chat")
    was = thread.category
    page = client.post(THREADS, {"action": "move_threads", "_selected_action": [thread.pk]})
    assert '<select name="category"' in page.content.decode()
    assert "General chat" in page.content.decode()

    response = act(client, THREADS, "move_threads", [thread], category=general.pk, reason="Topic")
    assert "Move: 1 thread." in response.content.decode()
    assert Thread.objects.get(pk=thread.pk).category == general
    entry = AuditEntry.objects.for_target(thread).get(action="thread_moved")
    assert (entry.actor_id, entry.reason) == (moderator.pk, "Topic")
    assert entry.data == {"from": was.slug, "to": "general"}

    again = act(client, THREADS, "move_threads", [thread], category=general.pk, reason="")
    assert "already in this category" in again.content.decode()
    missing = act(client, THREADS, "move_threads", [thread], reason="No category")
    assert missing.status_code == 200 and "This field is required" in missing.content.decode()
    assert AuditEntry.objects.filter(action="thread_moved").count() == 1


def test_thread_actions_are_offered_only_with_their_named_permissions(client, thread):
    nurse = staff(Role.NURSE, "view_thread")  # forum.close_thread, not forum.move_thread
    client.force_login(nurse)
    page = client.get(THREADS).content.decode()
    assert "close_threads" in page and "move_threads" not in page
    general = CategoryFactory(slug="general")
    selected = {"action": "move_threads", "_selected_action": [thread.pk]}
    client.post(THREADS, {**selected, "apply": "1", "category": general.pk})
    assert Thread.objects.get(pk=thread.pk).category_id != general.pk

    client.force_login(staff(Role.MEMBER, "view_thread"))
    assert client.get(THREADS).context["action_form"] is None
    client.post(THREADS, {"action": "close_threads", "_selected_action": [thread.pk], "apply": 1})
    assert Thread.objects.get(pk=thread.pk).status == "open"


def test_the_change_form_cannot_change_category_visibility_or_author(admin_client, thread):
    general = CategoryFactory(slug="general")
    impostor = UserFactory(display_name="Impostor")
    url = f"{THREADS}{thread.pk}/change/"
    data = admin_form(
        admin_client, url, category=str(general.pk), visibility="hidden", author=str(impostor.pk)
    )
    data["title"] = "A new title"
    assert admin_client.post(url, data).status_code == 302
    thread.refresh_from_db()
    assert thread.title == "A new title"  # the form saved...
    assert (
        thread.category.slug == "ask-our-nurses" and thread.visibility == "visible"
    )  # ...not these
    assert thread.author_id != impostor.pk
    assert admin_client.get(f"{THREADS}add/").status_code == 403


def test_hide_asks_a_reason_and_a_note_then_tells_the_author(client, thread):
    moderator = staff(Role.MODERATOR, "view_post")
    client.force_login(moderator)
    reply = Post.objects.get(thread=thread, body="Hi")
    page = client.post(POSTS, {"action": "hide_posts", "_selected_action": [reply.pk]})
    assert 'name="reason"' in page.content.decode() and 'name="note"' in page.content.decode()

    response = act(client, POSTS, "hide_posts", [reply], reason="Spam link", note="No adverts")
    assert "Hide: 1 post." in response.content.decode()
    reply.refresh_from_db()
    assert reply.status == "hidden"
    assert Thread.objects.get(pk=thread.pk).reply_count == 0
    told = Notification.objects.get(recipient=reply.author, kind="post_hidden")
    assert told.note == "No adverts"
    entry = AuditEntry.objects.for_target(reply).get(action="post_hidden")
    assert (entry.actor_id, entry.reason) == (moderator.pk, "Spam link")

    act(client, POSTS, "restore_posts", [reply], reason="Appeal upheld")
    reply.refresh_from_db()
    assert reply.status == "visible"
    assert Thread.objects.get(pk=thread.pk).reply_count == 1
    entry = AuditEntry.objects.for_target(reply).get(action="post_restored")
    assert (entry.actor_id, entry.reason) == (moderator.pk, "Appeal upheld")


def test_a_post_refused_by_the_service_is_reported_without_an_error_page(admin_client, thread):
    reply = Post.objects.get(thread=thread, body="Hi")
    not_hidden = act(admin_client, POSTS, "restore_posts", [reply], reason="")
    assert not_hidden.status_code == 200
    assert f"{reply}: This post is not hidden." in not_hidden.content.decode()
    notice = post_create(author=UserFactory(), thread=thread, body="Later")
    Post.objects.filter(pk=notice.pk).update(kind="system")
    refused = act(admin_client, POSTS, "hide_posts", [notice], reason="", note="")
    assert "are not hidden or held" in refused.content.decode()
    assert Post.objects.get(pk=notice.pk).status == "visible"
    too_long = act(admin_client, POSTS, "hide_posts", [reply], reason="", note="x" * 1001)
    assert "at most 1000 characters" in too_long.content.decode()
    assert Post.objects.get(pk=reply.pk).status == "visible"


def test_post_actions_are_offered_only_with_the_moderate_permission(client, thread):
    reply = Post.objects.get(thread=thread, body="Hi")
    client.force_login(staff(Role.NURSE, "view_post", "change_post"))
    page = client.get(POSTS).content.decode()
    assert "hide_posts" not in page and "restore_posts" not in page
    client.post(POSTS, {"action": "hide_posts", "_selected_action": [reply.pk], "apply": "1"})
    assert Post.objects.get(pk=reply.pk).status == "visible"
    post_hide(actor=None, post=reply)  # the flag threshold, say: still no restore for her
    client.post(POSTS, {"action": "restore_posts", "_selected_action": [reply.pk], "apply": "1"})
    assert Post.objects.get(pk=reply.pk).status == "hidden"


def test_an_admin_without_a_staff_role_is_not_offered_the_close_action(admin_client, thread):
    """Closing shows who closed by staff title: a superuser without a role has none."""
    page = admin_client.get("/admin/forum/thread/").content.decode()
    assert "close_threads" not in page
    assert "move_threads" in page  # moving names nobody: a superuser may
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
    assert 'name="sensitive"' not in html and 'name="support_kind"' not in html
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
