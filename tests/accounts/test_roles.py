"""Roles are groups with named permissions; two operator commands give them out."""

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from django.db import IntegrityError

from accounts.models import User
from accounts.roles import Role
from accounts.services import user_set_role
from core.models import AuditEntry
from moderation.roles import GROUP_PERMISSIONS
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _perms(group: Group) -> set[str]:
    return {
        f"{p.content_type.app_label}.{p.codename}"
        for p in group.permissions.select_related("content_type")
    }


def test_the_migration_creates_the_role_groups_with_their_permissions():
    assert _perms(Group.objects.get(name="Nurses")) == {
        "moderation.answer_as_nurse",
        "moderation.view_nurse_queue",
        "forum.close_thread",
        "moderation.view_unansweredquestion",
        "moderation.change_unansweredquestion",
    }
    assert _perms(Group.objects.get(name="Moderators")) == set(GROUP_PERMISSIONS["Moderators"])


def test_a_member_has_none_of_the_staff_permissions():
    member = UserFactory()
    assert member.role == Role.MEMBER
    assert not any(member.has_perm(p) for perms in GROUP_PERMISSIONS.values() for p in perms)
    assert member.public_title is None


def test_setting_a_role_moves_the_user_between_groups_and_is_audited():
    admin = UserFactory(display_name="Site Admin", is_superuser=True)
    user = UserFactory()
    user_set_role(user=user, role=Role.NURSE, actor=admin)
    assert user.has_perm("moderation.answer_as_nurse")
    assert user.public_title == "Breast Care Nurse"
    user.title = ""  # no title of her own: the default one, as on what she publishes
    assert user.public_title == "Breast Care Nurse"

    user_set_role(user=user, role=Role.MODERATOR, actor=admin)
    user = User.objects.get(pk=user.pk)
    assert list(user.groups.values_list("name", flat=True)) == ["Moderators"]
    assert user.has_perm("moderation.review")
    assert not user.has_perm("moderation.answer_as_nurse")
    assert user.public_title == "Moderator"

    actions = AuditEntry.objects.for_target(user).filter(action="role_changed").order_by("id")
    assert [a.data for a in actions] == [
        {"from": "member", "to": "nurse"},
        {"from": "nurse", "to": "moderator"},
    ]
    assert {a.actor_id for a in actions} == {admin.pk}


def test_setting_the_same_role_again_changes_and_records_nothing():
    user = UserFactory(role=Role.NURSE)
    before = AuditEntry.objects.count()
    user_set_role(user=user, role=Role.NURSE)
    assert AuditEntry.objects.count() == before
    assert list(user.groups.values_list("name", flat=True)) == ["Nurses"]


def test_createuser_with_the_password_from_the_environment(monkeypatch, capsys):
    monkeypatch.setenv("HAVEN_PASSWORD", "a-long-nurse-password-9")
    call_command(
        "createuser",
        "--email",
        "Nurse.Two@Haven.Test",
        "--display-name",
        "Care Team 2",
        "--role",
        "nurse",
        "--verified",
    )
    user = User.objects.get(email="nurse.two@haven.test")
    assert user.role == Role.NURSE
    assert user.check_password("a-long-nurse-password-9")
    assert user.has_perm("forum.close_thread")
    assert EmailAddress.objects.get(user=user).verified is True
    assert "Created nurse 'Care Team 2' <nurse.two@haven.test>." in capsys.readouterr().out


def test_createuser_asks_for_the_password_twice(monkeypatch):
    monkeypatch.delenv("HAVEN_PASSWORD", raising=False)
    answers = iter(["a-long-member-password-3", "a-long-member-password-3"])
    monkeypatch.setattr("getpass.getpass", lambda prompt: next(answers))
    call_command("createuser", "--email", "m@haven.test", "--display-name", "Quiet Reader")
    user = User.objects.get(email="m@haven.test")
    assert user.role == Role.MEMBER
    assert EmailAddress.objects.get(user=user).verified is False


def test_createuser_refuses_passwords_that_differ(monkeypatch):
    monkeypatch.delenv("HAVEN_PASSWORD", raising=False)
    answers = iter(["a-long-member-password-3", "another-password-44"])
    monkeypatch.setattr("getpass.getpass", lambda prompt: next(answers))
    with pytest.raises(CommandError, match="The two passwords differ"):
        call_command("createuser", "--email", "m@haven.test", "--display-name", "Quiet Reader")
    assert not User.objects.exists()


@pytest.mark.parametrize(
    ("email", "display_name", "password", "message"),
    [
        (
            "taken@haven.test",
            "Someone New",
            "a-long-password-77",
            "User with this Email address already exists.",
        ),
        (
            "new@haven.test",
            "TAKEN NAME",
            "a-long-password-77",
            "This display name is already taken.",
        ),
        (
            "new@haven.test",
            "No",
            "a-long-password-77",
            "Ensure this value has at least 3 characters",
        ),
        ("not-an-email", "Someone New", "a-long-password-77", "Enter a valid email address."),
        ("new@haven.test", "Someone New", "short", "This password is too short."),
    ],
)
def test_createuser_refuses_bad_input_and_writes_nothing(
    monkeypatch, email, display_name, password, message
):
    UserFactory(email="Taken@haven.test", display_name="Taken Name")
    monkeypatch.setenv("HAVEN_PASSWORD", password)
    with pytest.raises(CommandError, match=message):
        call_command("createuser", "--email", email, "--display-name", display_name)
    assert User.objects.count() == 1
    assert EmailAddress.objects.count() == 1


def test_set_role_command(capsys):
    user = UserFactory(email="bonnie@haven.test", display_name="Bonnie52")
    call_command("set_role", "BONNIE@haven.test", "moderator")
    user.refresh_from_db()
    assert user.role == Role.MODERATOR
    assert "'Bonnie52' is now a moderator." in capsys.readouterr().out
    call_command("set_role", "bonnie@haven.test", "member")
    user = User.objects.get(pk=user.pk)
    assert user.role == Role.MEMBER
    assert not user.groups.exists()


def test_set_role_refuses_an_unknown_account_or_role():
    with pytest.raises(CommandError, match=r"No account with the email 'ghost@haven\.test'"):
        call_command("set_role", "ghost@haven.test", "nurse")
    UserFactory(email="bonnie@haven.test")
    with pytest.raises(CommandError, match="invalid choice: 'superhero'"):
        call_command("set_role", "bonnie@haven.test", "superhero")


def test_the_database_holds_case_insensitive_uniqueness():
    UserFactory(email="one@haven.test", display_name="Bonnie52")
    with pytest.raises(IntegrityError):
        User.objects.create(email="two@haven.test", display_name="BONNIE52")


def test_the_database_holds_case_insensitive_email_uniqueness():
    UserFactory(email="one@haven.test")
    with pytest.raises(IntegrityError):
        User.objects.create(email="ONE@haven.test", display_name="Different")
