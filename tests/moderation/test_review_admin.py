"""The Django admin: the review queue's actions, flags read-only, members suspended or put
into pre-moderation through a reason page, and all of it in the read-only audit log."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone

from accounts.models import User
from core.models import AuditEntry
from forum.services import post_create
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


@pytest.mark.parametrize(
    ("action", "item_status", "post_status"),
    [
        ("approve", "approved", "visible"),
        ("hide", "hidden", "hidden"),
        ("dismiss", "dismissed", "visible"),
    ],
)
def test_admin_actions_resolve_items_as_the_acting_admin(
    admin_client, flagged, action, item_status, post_status
):
    response = admin_client.post(ITEMS, {"action": action, "_selected_action": [flagged.pk]})
    assert response.status_code == 302
    flagged.refresh_from_db()
    flagged.post.refresh_from_db()
    assert flagged.status == item_status and flagged.post.status == post_status
    assert flagged.resolved_by == admin_client.admin
    assert not Flag.objects.filter(review_item=flagged, is_open=True).exists()
    entry = AuditEntry.objects.get(action="review_resolved")
    assert entry.actor_id == admin_client.admin.pk and entry.data["action"] == action


def test_a_staff_user_without_the_review_permission_gets_no_actions(client, flagged):
    staff = UserFactory(display_name="Office Staff", is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_reviewitem"))
    client.force_login(staff)
    page = client.get(ITEMS)
    assert page.status_code == 200
    assert page.context["action_form"] is None  # no action it may run
    client.post(ITEMS, {"action": "hide", "_selected_action": [flagged.pk]})
    flagged.refresh_from_db()
    assert flagged.status == "pending"


def test_a_failing_item_is_reported_and_the_others_resolved(admin_client, flagged):
    done = ReviewItem.objects.get(pk=flagged.pk)
    admin_client.post(ITEMS, {"action": "dismiss", "_selected_action": [done.pk]})
    response = admin_client.post(
        ITEMS, {"action": "hide", "_selected_action": [done.pk]}, follow=True
    )
    assert "already been resolved" in response.content.decode()


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
    admin_client.post(ITEMS, {"action": "hide", "_selected_action": [flagged.pk]})
    page = admin_client.get("/admin/core/auditentry/")
    assert page.status_code == 200
    content = page.content.decode()
    assert "review_resolved" in content and "post_hidden" in content
    entry = AuditEntry.objects.get(action="review_resolved")
    assert admin_client.get(f"/admin/core/auditentry/{entry.pk}/change/").status_code == 200
    assert admin_client.post(f"/admin/core/auditentry/{entry.pk}/delete/").status_code == 403
