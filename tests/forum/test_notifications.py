"""Notifications are rows first (the outbox); emails leave after the commit, once."""

from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import User
from accounts.roles import Role
from forum.models import Notification, Post, Subscription
from forum.outbox import notification_emails_send
from forum.services import post_create, post_hide, thread_follow
from forum.tasks import resend_pending_notification_emails
from tests.factories import UserFactory, make_reply, make_thread
from tests.utils import client_for, wait_until

pytestmark = pytest.mark.django_db


@pytest.fixture
def people():
    asker = UserFactory(display_name="Sparrowhawk", email="sparrow@haven.test")
    replier = UserFactory(display_name="Bonnie52", email="bonnie@haven.test")
    return asker, replier


def test_a_reply_notifies_every_follower_but_its_author(people, django_capture_on_commit_callbacks):
    asker, replier = people
    quiet = UserFactory(display_name="Quiet Reader")
    quiet.email_on_reply = False
    quiet.save()
    closed = UserFactory(display_name="Gone Away")
    thread = make_thread(author=asker)
    for follower in (quiet, closed):
        thread_follow(user=follower, thread=thread)
    closed.is_active = False
    closed.save()

    with django_capture_on_commit_callbacks(execute=True):
        post = post_create(author=replier, thread=thread, body="Here is what happened to me.")

    rows = {n.recipient.display_name: n for n in Notification.objects.select_related("recipient")}
    assert set(rows) == {"Sparrowhawk", "Quiet Reader"}
    assert rows["Sparrowhawk"].kind == "reply"
    assert rows["Sparrowhawk"].post == post
    assert rows["Sparrowhawk"].actor == replier
    assert rows["Sparrowhawk"].email == "sent"
    assert rows["Quiet Reader"].email == "not_wanted"
    assert [m.to for m in mail.outbox] == [["sparrow@haven.test"]]
    message = mail.outbox[0]
    assert message.subject == "New reply in “Treatment for a local recurrence”"
    assert "Bonnie52 replied in “Treatment for a local recurrence”." in message.body
    assert f"Read it on Haven: http://127.0.0.1:8000/p/{post.pk}/\n" in message.body
    # The link opens the thread's page that holds the reply, for her once signed in.
    reader = Client()
    reader.force_login(asker)
    page = reader.get(f"/p/{post.pk}/", follow=True)
    assert page.status_code == 200
    assert page.redirect_chain[-1][0].endswith(f"/t/{thread.pk}/#post-{post.pk}")
    assert f'id="post-{post.pk}"' in page.content.decode()
    # Post text stays on the forum: it never travels in an email.
    assert "Here is what happened" not in message.body


@pytest.mark.parametrize("held", [False, True], ids=["hidden", "not approved"])
def test_a_hidden_or_refused_posts_email_links_to_where_its_author_reads_the_note(
    people, held, django_capture_on_commit_callbacks
):
    """Her post is hidden (or her held post not approved): she may not open it any more, so
    the email links to her notifications, which show the moderators' note."""
    asker, replier = people
    thread = make_thread(author=asker)
    if held:
        User.objects.filter(pk=replier.pk).update(premoderated_indefinitely=True)
        replier.refresh_from_db()
    post = post_create(author=replier, thread=thread, body="Buy my miracle cure.")
    assert post.status == (Post.Status.PENDING if held else Post.Status.VISIBLE)
    moderator = UserFactory(role=Role.MODERATOR)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        post_hide(actor=moderator, post=post, reason="spam", note="Please no adverts here.")
    notice = Notification.objects.get(recipient=replier)
    assert notice.kind == ("post_rejected" if held else "post_hidden")
    [message] = [m for m in mail.outbox if m.to == ["bonnie@haven.test"]]
    assert f"/p/{post.pk}/" not in message.body
    assert "Read it on Haven: http://127.0.0.1:8000/notifications/\n" in message.body
    reader = Client()
    reader.force_login(replier)
    assert reader.get(f"/p/{post.pk}/").status_code == 404  # what the old link opened
    page = reader.get("/notifications/", follow=True)
    assert page.status_code == 200 and page.redirect_chain == []
    html = page.content.decode()
    assert "Note from the moderators: Please no adverts here." in html
    assert thread.title in html
    assert "Buy my miracle cure" not in message.body


def test_the_fan_out_is_batched_and_its_queries_do_not_grow_with_followers(
    people, settings, django_assert_max_num_queries
):
    """The reply and its fan-out job together (the job's own figures: test_fanout.py)."""
    asker, replier = people
    thread = make_thread(author=asker)
    Subscription.objects.bulk_create(
        Subscription(user=UserFactory(), thread=thread) for _ in range(60)
    )
    settings.HAVEN_FANOUT_BATCH = 25
    with django_assert_max_num_queries(40):
        make_reply(author=replier, thread=thread, body="Hello all")
    assert Notification.objects.filter(post__thread=thread).count() == 61


def test_a_broker_outage_loses_nothing_and_the_sweep_sends_each_email_once(people):
    """Notifications were written but no job ran (the broker was down): the sweep catches up."""
    asker, replier = people
    thread = make_thread(author=asker)
    post = make_reply(author=replier, thread=thread, body="Reply while the broker is down")
    # The fan-out ran, but its email job never did (the test's transaction never commits).
    assert mail.outbox == []
    notification = Notification.objects.get(recipient=asker)
    assert notification.email == "pending"

    assert resend_pending_notification_emails() == 0  # too recent: its own job may still run
    Notification.objects.filter(pk=notification.pk).update(
        created_at=timezone.now() - timedelta(minutes=10)
    )
    assert resend_pending_notification_emails() == 1
    assert resend_pending_notification_emails() == 0
    assert notification_emails_send(post_id=post.pk) == 0
    assert len(mail.outbox) == 1


def test_a_failing_mail_server_is_retried_then_given_up(people, settings, monkeypatch):
    asker, replier = people
    thread = make_thread(author=asker)
    post = make_reply(author=replier, thread=thread, body="Hello")
    settings.HAVEN_EMAIL_MAX_ATTEMPTS = 2

    def refuse(self, *args, **kwargs):
        raise ConnectionRefusedError("mail server down")

    monkeypatch.setattr("django.core.mail.EmailMessage.send", refuse)
    assert notification_emails_send(post_id=post.pk) == 0
    notification = Notification.objects.get(recipient=asker)
    assert (notification.email, notification.email_attempts) == ("pending", 1)
    notification_emails_send(post_id=post.pk)
    notification.refresh_from_db()
    assert (notification.email, notification.email_attempts) == ("failed", 2)


def test_notifications_list_and_mark_read(people):
    asker, replier = people
    thread = make_thread(author=asker, title="First question here")
    first = make_reply(author=replier, thread=thread, body="one")
    second = make_reply(author=replier, thread=thread, body="two")
    client = client_for(asker)

    listing = client.get("/api/v1/notifications/").json()
    assert [n["post"] for n in listing["results"]] == [second.pk, first.pk]
    assert listing["results"][0]["thread"] == {"id": thread.pk, "title": "First question here"}
    assert listing["results"][0]["actor"]["display_name"] == "Bonnie52"
    assert listing["results"][0]["read_at"] is None
    assert client.get("/api/v1/me/").json()["unread_notifications"] == 2

    ids = [listing["results"][1]["id"]]
    response = client.post("/api/v1/notifications/read/", {"ids": ids}, format="json")
    assert response.json() == {"marked_read": 1, "unread": 1}
    response = client.post("/api/v1/notifications/read/", {"all": True}, format="json")
    assert response.json() == {"marked_read": 1, "unread": 0}
    assert client.get("/api/v1/me/").json()["unread_notifications"] == 0


def test_members_only_see_and_mark_their_own_notifications(people):
    asker, replier = people
    thread = make_thread(author=asker)
    make_reply(author=replier, thread=thread, body="one")
    theirs = Notification.objects.get(recipient=asker)
    client = client_for(replier)
    assert client.get("/api/v1/notifications/").json()["results"] == []
    response = client.post("/api/v1/notifications/read/", {"ids": [theirs.pk]}, format="json")
    assert response.json() == {"marked_read": 0, "unread": 0}
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_mark_read_needs_ids_or_all(people):
    response = client_for(people[0]).post("/api/v1/notifications/read/", {}, format="json")
    assert response.status_code == 400
    assert response.json()["fields"] == {"non_field_errors": ['Send "ids": [...] or "all": true.']}
    assert APIClient().get("/api/v1/notifications/").status_code == 401


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_reply_emails_are_delivered_by_a_real_worker(celery_worker, mailoutbox):
    asker = UserFactory(display_name="Sparrowhawk", email="sparrow@haven.test")
    replier = UserFactory(display_name="Bonnie52")
    thread = make_thread(author=asker)
    response = client_for(replier).post(
        f"/api/v1/threads/{thread.pk}/posts/", {"body": "Through the broker"}, format="json"
    )
    assert response.status_code == 201
    assert wait_until(lambda: len(mailoutbox) == 1)
    assert mailoutbox[0].to == ["sparrow@haven.test"]
    assert wait_until(lambda: Notification.objects.get(recipient=asker).email == "sent")


def test_the_outbox_sweep_is_scheduled_with_beat():
    from django_celery_beat.models import PeriodicTask

    from config.celery import app

    app.loader.import_default_modules()
    entry = PeriodicTask.objects.get(name="resend-pending-notification-emails")
    assert entry.enabled
    assert entry.task in app.tasks
    assert entry.schedule.run_every.total_seconds() <= 600
