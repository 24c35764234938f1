"""The Django admin: the review queue's actions, flags read-only, members suspended or put
into pre-moderation through a reason page, and all of it in the read-only audit log."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone

from accounts.models import User
from accounts.services import member_premoderate
from core.models import AuditEntry
from forum.models import Notification
from forum.services import post_create, post_hide
from moderation.flags import flag_create
from moderation.models import Flag, ReviewItem
from tests.factories import UserFactory, make_thread

pytestmark = pytest.mark.django_db
ITEMS = "/admin/moderation/reviewitem/"
USERS = "/admin/accounts/user/"


@pytest.fixture
def flagged(db):
    thread = make_thread(author=UserFactory())
    post = post_create(author=UserFactory(display_name="Replier"), thread=thread, body="Buy now")
    flag_create(flagger=UserFactory(display_name="Flagger"), post=post, reason="spam")
    return ReviewItem.objects.get(post=post)


def test_the_queue_lists_filters_and_shows_flags_read_only(admin_client, flagged):
    page = admin_client.get(ITEMS, {"status": "pending", "urgent__exact": "0", "reason": "spam"})
    assert page.status_code == 200 and f"Post {flagged.post_id}" in page.content.decode()
    assert admin_client.get(ITEMS, {"reason": "safeguarding"}).context["cl"].result_count == 0
    detail = admin_client.get(f"{ITEMS}{flagged.pk}/change/")
    assert detail.status_code == 200
    assert "Flagger" in detail.content.decode() and "Buy now" in detail.content.decode()
    assert admin_client.get(f"{ITEMS}add/").status_code == 403
    assert admin_client.get("/admin/moderation/flag/add/").status_code == 403
    assert admin_client.get("/admin/moderation/flag/").status_code == 200


def _resolve(client, action, item, note=""):
    """The action's page (it asks the note), then "apply" with the note typed in."""
    selected = {"action": action, "_selected_action": [item.pk]}
    page = client.post(ITEMS, selected)
    assert page.status_code == 200 and 'name="note"' in page.content.decode()
    assert str(item) in page.content.decode()
    return client.post(ITEMS, {**selected, "apply": "1", "note": note}, follow=True)


@pytest.mark.parametrize(
    ("action", "item_status", "post_status", "told"),
    [
        ("approve", "approved", "visible", None),
        ("reject", "rejected", "hidden", "post_hidden"),
        ("hide", "hidden", "hidden", "post_hidden"),
        ("restore", "approved", "visible", None),
        ("dismiss", "dismissed", "visible", None),
    ],
)
def test_admin_actions_ask_a_note_and_resolve_items_as_the_acting_admin(
    admin_client, flagged, action, item_status, post_status, told
):
    if action == "restore":
        post_hide(actor=admin_client.admin, post=flagged.post, notify_author=False)
    response = _resolve(admin_client, action, flagged, note="Please see the guidelines")
    assert f"{action.capitalize()}: 1 review item." in response.content.decode()
    flagged.refresh_from_db()
    flagged.post.refresh_from_db()
    assert flagged.status == item_status and flagged.post.status == post_status
    assert flagged.resolved_by == admin_client.admin
    assert flagged.note == "Please see the guidelines"
    assert not Flag.objects.filter(review_item=flagged, is_open=True).exists()
    entry = AuditEntry.objects.get(action="review_resolved")
    assert entry.actor_id == admin_client.admin.pk and entry.data["action"] == action
    assert entry.reason == "Please see the guidelines"
    notes = Notification.objects.filter(recipient=flagged.post.author)
    assert [(n.kind, n.note) for n in notes] == (
        [(told, "Please see the guidelines")] if told else []
    )


def test_a_held_post_rejected_from_the_admin_tells_its_author_with_the_note(admin_client):
    member = UserFactory(display_name="Newcomer")
    member_premoderate(actor=admin_client.admin, member=member, until=None, reason="Links")
    post = post_create(author=member, thread=make_thread(), body="My first reply")
    item = ReviewItem.objects.get(post=post)
    _resolve(admin_client, "reject", item, note="No links, please")
    post.refresh_from_db()
    assert post.status == "hidden"
    told = Notification.objects.get(recipient=member)
    assert (told.kind, told.note) == ("post_rejected", "No links, please")


def test_a_staff_user_without_the_review_permission_gets_no_actions(client, flagged):
    staff = UserFactory(display_name="Office Staff", is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_reviewitem"))
    client.force_login(staff)
    page = client.get(ITEMS)
    assert page.status_code == 200
    assert page.context["action_form"] is None  # no action it may run
    client.post(ITEMS, {"action": "hide", "_selected_action": [flagged.pk], "apply": "1"})
    flagged.refresh_from_db()
    assert flagged.status == "pending"


def test_a_failing_item_is_reported_and_the_others_resolved(admin_client, flagged):
    other = post_create(author=UserFactory(), thread=flagged.post.thread, body="Buy twice")
    flag_create(flagger=UserFactory(), post=other, reason="spam")
    pending = ReviewItem.objects.get(post=other)
    _resolve(admin_client, "dismiss", flagged)
    selected = {"action": "hide", "_selected_action": [flagged.pk, pending.pk], "apply": "1"}
    response = admin_client.post(ITEMS, {**selected, "note": ""}, follow=True)
    assert response.status_code == 200
    html = response.content.decode()
    assert f"{ReviewItem.objects.get(pk=flagged.pk)}: " in html
    assert "already been resolved" in html and "Hide: 1 review item." in html
    assert ReviewItem.objects.get(pk=pending.pk).status == "hidden"
    assert ReviewItem.objects.get(pk=flagged.pk).status == "dismissed"


def test_a_note_too_long_is_a_form_error_and_nothing_is_resolved(admin_client, flagged):
    response = _resolve(admin_client, "reject", flagged, note="x" * 1001)
    assert response.status_code == 200 and "at most 1000 characters" in response.content.decode()
    assert ReviewItem.objects.get(pk=flagged.pk).status == "pending"


def _restrict(client, action, member, **fields):
    return client.post(
        USERS, {"action": action, "_selected_action": [member.pk], "apply": "1", **fields}
    )


def test_suspend_asks_for_a_reason_and_an_end_then_suspends_audited(admin_client):
    member = UserFactory(display_name="Troubled")
    page = admin_client.post(USERS, {"action": "suspend", "_selected_action": [member.pk]})
    assert page.status_code == 200 and 'name="reason"' in page.content.decode()
    assert 'name="until"' in page.content.decode()

    past = (timezone.now() - timedelta(days=1)).strftime("%Y-%m-%d %H:%M:%S")
    refused = _restrict(admin_client, "suspend", member, until=past, reason="x")
    assert refused.status_code == 200 and "in the future" in refused.content.decode()
    assert not User.objects.get(pk=member.pk).is_suspended

    until = (timezone.localtime() + timedelta(days=3)).strftime("%Y-%m-%d %H:%M:%S")
    done = _restrict(admin_client, "suspend", member, until=until, reason="Abuse")
    assert done.status_code == 302
    member.refresh_from_db()
    assert member.is_suspended and member.suspension_reason == "Abuse"
    assert member.suspended_until is not None and not member.suspended_indefinitely
    assert _restrict(admin_client, "unsuspend", member, reason="Appeal").status_code == 302
    member.refresh_from_db()
    assert not member.is_suspended
    entries = AuditEntry.objects.for_target(member).order_by("id")
    assert [(e.action, e.actor_id) for e in entries] == [
        ("member_suspended", admin_client.admin.pk),
        ("member_unsuspended", admin_client.admin.pk),
    ]


def test_pre_moderation_from_the_admin_and_a_refusal_reported(admin_client):
    member = UserFactory(display_name="Newcomer")
    assert (
        _restrict(admin_client, "premoderate", member, until="", reason="Links").status_code == 302
    )
    member.refresh_from_db()
    assert member.is_premoderated and member.premoderated_indefinitely
    assert _restrict(admin_client, "release", member).status_code == 302
    assert not User.objects.get(pk=member.pk).is_premoderated

    response = admin_client.post(
        USERS,
        {"action": "release", "_selected_action": [member.pk], "apply": "1"},
        follow=True,
    )
    assert "not in pre-moderation" in response.content.decode()


def test_moderators_actions_show_in_the_read_only_audit_log(admin_client, flagged):
    _resolve(admin_client, "hide", flagged, note="Spam")
    page = admin_client.get("/admin/core/auditentry/")
    assert page.status_code == 200
    content = page.content.decode()
    assert "review_resolved" in content and "post_hidden" in content
    entry = AuditEntry.objects.get(action="review_resolved")
    assert admin_client.get(f"/admin/core/auditentry/{entry.pk}/change/").status_code == 200
    assert admin_client.post(f"/admin/core/auditentry/{entry.pk}/delete/").status_code == 403


def test_a_staff_moderator_is_offered_every_queue_action(client, flagged):
    moderator = UserFactory(display_name="Mod Morgan", role="moderator", is_staff=True)
    moderator.user_permissions.add(Permission.objects.get(codename="view_reviewitem"))
    client.force_login(moderator)
    choices = client.get(ITEMS).context["action_form"].fields["action"].choices
    assert [name for name, _ in choices if name] == [
        "approve",
        "reject",
        "hide",
        "restore",
        "dismiss",
    ]
    _resolve(client, "reject", flagged, note="Off topic")
    assert ReviewItem.objects.get(pk=flagged.pk).resolved_by == moderator
