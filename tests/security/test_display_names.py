"""No member can pass for staff, or for another member, or find out a nurse's private name.

Measured before: "Breast Care Nurs3" was accepted (names were compared by substring,
case-folded only), "B0nnie52" sat beside "Bonnie52", and "This display name is already
taken" confirmed a nurse's private display name (nurses publish under their title).
Names are now compared by a skeleton: case, spaces, '_' and '-' ignored, leet digits,
I/l/1, O/0, rn/m and vv/w folded together.
"""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from rest_framework.test import APIClient

from accounts.models import User
from accounts.roles import Role
from accounts.services import user_set_role
from accounts.validators import display_name_skeleton
from tests.factories import UserFactory, make_thread
from tests.utils import admin_form, client_for

pytestmark = pytest.mark.django_db

SIGNUP = "/_allauth/app/v1/auth/signup"
ME = "/api/v1/me/"
RESERVED = "This name is reserved for the Haven team; please choose another."
TAKEN = "This display name is already taken."


def _signup(display_name: str, email: str = "new@haven.test"):
    payload = {"email": email, "password": "bright-morning-walk-42", "display_name": display_name}
    return APIClient().post(SIGNUP, payload, format="json")


def _signup_errors(response) -> list[tuple[str, str]]:
    return [
        (e["code"], e["message"])
        for e in response.json().get("errors", [])
        if e.get("param") == "display_name"
    ]


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Breast Care Nurs3", "breastcarenurse"),
        ("M0DERAT0R", "moderator"),
        ("Adm1n", "ADMlN"),
        ("Bonnie_52", "b0nn1e 5-2"),
        ("Rnary", "Mary"),
        ("Vvillow", "Willow"),
        ("I l 1", "lll"),
    ],
)
def test_look_alike_names_share_a_skeleton(a, b):
    assert display_name_skeleton(a) == display_name_skeleton(b)


def test_different_names_keep_different_skeletons():
    names = [f"Member {n}" for n in range(200)] + ["Bonnie52", "Bonnie53", "Sparrowhawk"]
    assert len({display_name_skeleton(n) for n in names}) == len(names)


STAFF_LOOKALIKES = [
    "Breast Care Nurs3",
    "Br3ast_Care-NURSE",
    "N u r s e Jo",
    "M0derat0r",
    "Moder4tor Sam",
    "Adm1n",
    "H4ven Team",
    "5taff",
    "Former Memb3r",
    "Specia1ist Tearn",  # a nurse's own title (below), rn for m
]


@pytest.fixture
def specialist_nurse():
    nurse = UserFactory(role=Role.NURSE, display_name="Care Team 3")
    User.objects.filter(pk=nurse.pk).update(title="Specialist Team")
    return nurse


@pytest.mark.parametrize("name", STAFF_LOOKALIKES)
def test_a_member_cannot_sign_up_looking_like_staff(specialist_nurse, name):
    response = _signup(name)
    assert response.status_code == 400
    assert _signup_errors(response) == [("reserved", RESERVED)]
    assert not User.objects.filter(email="new@haven.test").exists()


@pytest.mark.parametrize("name", STAFF_LOOKALIKES)
def test_a_member_cannot_rename_to_look_like_staff(specialist_nurse, member_client, name):
    response = member_client.patch(ME, {"display_name": name}, format="json")
    assert response.status_code == 400
    assert response.json()["fields"] == {"display_name": [RESERVED]}


@pytest.mark.parametrize(
    "name", ["B0nnie52", "bonnie 52", "BONNIE_52", "Bonn1e5-2", "b o n n l e 5 2"]
)
def test_a_name_that_looks_like_another_members_is_taken(member_client, name):
    UserFactory(display_name="Bonnie52")
    response = _signup(name)
    assert _signup_errors(response) == [("taken", TAKEN)]
    response = member_client.patch(ME, {"display_name": name}, format="json")
    assert response.status_code == 400
    assert response.json()["fields"] == {"display_name": [TAKEN]}


def test_a_moderators_name_is_taken_too(member_client):
    UserFactory(role=Role.MODERATOR, display_name="Community Lead")
    response = member_client.patch(ME, {"display_name": "C0mmunity Lead"}, format="json")
    assert response.json()["fields"] == {"display_name": [TAKEN]}


def test_a_nurses_private_name_is_never_confirmed(member_client):
    """Nurses publish under their title: their display names occupy no member's namespace.

    Asking for a nurse's name answers exactly as for a name nobody holds.
    """
    UserFactory(role=Role.NURSE, display_name="Jane Hollis")
    UserFactory(role=Role.NURSE, display_name="Ann Price")
    response = member_client.patch(ME, {"display_name": "Ann Pr1ce"}, format="json")
    assert response.status_code == 200, response.content
    response = _signup("jane hollis")
    assert response.status_code == 401  # accepted; pending email verification
    assert User.objects.filter(display_name__iexact="jane hollis").count() == 2


def test_renaming_to_your_own_look_alike_is_allowed(member_client):
    response = member_client.patch(ME, {"display_name": "SPARROWHAVVK"}, format="json")
    assert response.status_code == 200


def test_the_database_refuses_two_members_with_one_skeleton_but_not_a_nurse():
    UserFactory(display_name="Bonnie52")
    other = UserFactory(display_name="Someone Else")
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.filter(pk=other.pk).update(display_name="B0NNIE_52")  # no check at all
    nurse = UserFactory(role=Role.NURSE, display_name="Care Team 3")
    User.objects.filter(pk=nurse.pk).update(display_name="Bonnie 52")


def test_a_look_alike_taken_between_check_and_save_is_a_400(member_client, member, monkeypatch):
    UserFactory(display_name="Bonnie52")
    monkeypatch.setattr("accounts.services._check_display_name_free", lambda *a, **k: None)
    response = member_client.patch(ME, {"display_name": "B0nnie52"}, format="json")
    assert response.status_code == 400
    assert response.json()["fields"] == {"display_name": [TAKEN]}
    member.refresh_from_db()
    assert member.display_name == "Sparrowhawk"


def test_demoting_a_nurse_whose_name_a_member_took_asks_for_a_rename_first():
    nurse = UserFactory(role=Role.NURSE, display_name="Jane Hollis")
    UserFactory(display_name="Jane H0llis")
    with pytest.raises(ValidationError) as excinfo:
        user_set_role(user=nurse, role=Role.MEMBER)
    assert "display_name" in excinfo.value.message_dict
    nurse.refresh_from_db()
    assert nurse.role == Role.NURSE


def test_the_admin_refuses_that_demotion_on_the_form(admin_client):
    nurse = UserFactory(role=Role.NURSE, display_name="Jane Hollis")
    UserFactory(display_name="Jane H0llis")
    url = f"/admin/accounts/user/{nurse.pk}/change/"
    response = admin_client.post(url, admin_form(admin_client, url, role="member"))
    assert response.status_code == 200
    assert "Another account&#x27;s display name looks like this one" in response.content.decode()
    nurse.refresh_from_db()
    assert nurse.role == Role.NURSE


def test_a_promoted_nurses_name_stays_taken_while_her_member_posts_show_it(member_client):
    """Her posts as a member show her name and id: nobody else may pass for her."""
    jane = UserFactory(display_name="Jane Hollis")
    thread = make_thread(author=jane)
    user_set_role(user=jane, role=Role.NURSE)
    shown = APIClient().get(f"/api/v1/threads/{thread.pk}/").json()["author"]
    assert (shown["id"], shown["display_name"]) == (jane.pk, "Jane Hollis")

    assert _signup_errors(_signup("Jane H0llis")) == [("taken", TAKEN)]
    response = member_client.patch(ME, {"display_name": "jane hollis"}, format="json")
    assert response.json()["fields"] == {"display_name": [TAKEN]}
    other = UserFactory(display_name="Someone Else")
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.filter(pk=other.pk).update(display_name="JANE_HOLLIS")  # no check at all
    # Her own renames are checked like anyone's: her new name shows on those posts too.
    response = client_for(jane).patch(ME, {"display_name": "Sparr0whawk"}, format="json")
    assert response.json()["fields"] == {"display_name": [TAKEN]}

    # Any later role change keeps it public while the posts show it.
    user_set_role(user=jane, role=Role.MODERATOR)
    user_set_role(user=jane, role=Role.NURSE)
    assert _signup_errors(_signup("Jane Hollis", email="later@haven.test")) == [("taken", TAKEN)]


def test_a_nurse_with_no_member_posts_keeps_her_name_private():
    """Created as a nurse, or promoted before writing anything: nothing shows her name."""
    UserFactory(role=Role.NURSE, display_name="Ann Price")
    quiet = UserFactory(display_name="Mary Quinn")  # signed up, never posted
    user_set_role(user=quiet, role=Role.NURSE)
    for n, name in enumerate(["Ann Pr1ce", "mary quinn"]):
        response = _signup(name, email=f"new{n}@haven.test")
        assert response.status_code == 401, response.content  # accepted; pending verification
    assert User.objects.filter(display_name__iexact="mary quinn").count() == 2
