"""Admins manage accounts, roles and verification from the Django admin."""

import pytest
from allauth.account.models import EmailAddress

from accounts.models import User
from accounts.roles import Role
from core.models import AuditEntry
from tests.factories import UserFactory
from tests.utils import admin_form

pytestmark = pytest.mark.django_db


def test_user_list_searches_by_email_and_display_name(admin_client):
    UserFactory(email="bonnie@haven.test", display_name="Bonnie52")
    UserFactory(email="sparrow@haven.test", display_name="Sparrowhawk")
    by_name = admin_client.get("/admin/accounts/user/", {"q": "bonnie5"})
    assert by_name.status_code == 200
    assert "bonnie@haven.test" in by_name.content.decode()
    assert "sparrow@haven.test" not in by_name.content.decode()
    by_email = admin_client.get("/admin/accounts/user/", {"q": "sparrow@"})
    assert "Sparrowhawk" in by_email.content.decode()
    assert "Bonnie52" not in by_email.content.decode()


def test_user_list_filters_by_role_and_verification(admin_client):
    UserFactory(display_name="Care Team 1", role=Role.NURSE)
    unverified = UserFactory(display_name="Brand New")
    EmailAddress.objects.filter(user=unverified).update(verified=False)
    nurses = admin_client.get("/admin/accounts/user/", {"role__exact": "nurse"}).content.decode()
    assert "Care Team 1" in nurses
    assert "Brand New" not in nurses
    pending = admin_client.get("/admin/accounts/user/", {"verified": "no"}).content.decode()
    assert "Brand New" in pending
    assert "Care Team 1" not in pending


def test_changing_the_role_in_the_admin_goes_through_the_service(admin_client):
    user = UserFactory(display_name="Bonnie52")
    url = f"/admin/accounts/user/{user.pk}/change/"
    response = admin_client.post(url, admin_form(admin_client, url, role="nurse"))
    assert response.status_code == 302, response.content.decode()[:2000]
    user = User.objects.get(pk=user.pk)
    assert user.role == Role.NURSE
    assert user.has_perm("moderation.answer_as_nurse")
    action = AuditEntry.objects.for_target(user).get()
    assert action.actor_id == admin_client.admin.pk
    assert action.data == {"from": "member", "to": "nurse"}


def test_add_user_page_and_audit_log_render(admin_client):
    assert admin_client.get("/admin/accounts/user/add/").status_code == 200
    assert admin_client.get("/admin/core/auditentry/").status_code == 200
    assert admin_client.get("/admin/forum/category/").status_code == 200


def test_members_cannot_open_the_admin(client):
    client.force_login(UserFactory())
    response = client.get("/admin/accounts/user/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_an_admin_adds_an_account(admin_client):
    response = admin_client.post(
        "/admin/accounts/user/add/",
        {
            "email": "New.Nurse@Haven.Test",
            "display_name": "Care Team 9",
            "usable_password": "true",
            "password1": "a-long-admin-set-password-5",
            "password2": "a-long-admin-set-password-5",
            "emailaddress_set-TOTAL_FORMS": "1",
            "emailaddress_set-INITIAL_FORMS": "0",
            "emailaddress_set-MIN_NUM_FORMS": "0",
            "emailaddress_set-MAX_NUM_FORMS": "1000",
            "emailaddress_set-0-email": "new.nurse@haven.test",
            "emailaddress_set-0-primary": "on",
            "emailaddress_set-0-verified": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    user = User.objects.get(display_name="Care Team 9")
    assert user.email == "new.nurse@haven.test"
    assert user.check_password("a-long-admin-set-password-5")
    assert EmailAddress.objects.get(user=user).verified is True
