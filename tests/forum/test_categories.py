import pytest
from django.core.management import CommandError, call_command

from accounts.models import User
from forum.models import Category
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def test_categories_are_public_and_in_order(api_client, django_assert_num_queries):
    Category.objects.create(slug="b", name="Second", position=20)
    Category.objects.create(
        slug="a", name="First", position=10, nurse_answered=True, description="Ask"
    )
    with django_assert_num_queries(1):
        response = api_client.get("/api/v1/categories/")
    assert response.status_code == 200
    assert response.json() == [
        {
            "id": response.json()[0]["id"],
            "slug": "a",
            "name": "First",
            "description": "Ask",
            "nurse_answered": True,
        },
        {
            "id": response.json()[1]["id"],
            "slug": "b",
            "name": "Second",
            "description": "",
            "nurse_answered": False,
        },
    ]


def test_seed_demo_creates_the_community_once(capsys, settings):
    settings.HAVEN_DEMO_PASSWORD = PASSWORD
    call_command("seed_demo")
    first = capsys.readouterr().out
    assert "nurse      nurse@haven.example" in first
    # What the moderators find waiting: a flagged reply, a held thread, an urgent concern.
    assert "review    'Finding it hard lately'" in first
    assert f"password   {PASSWORD}" in first

    call_command("seed_demo")
    assert "Demo data is already present; nothing added." in capsys.readouterr().out

    categories = list(Category.objects.values_list("slug", "nurse_answered"))
    assert categories[0] == ("ask-our-nurses", True)
    assert sum(1 for _, nurse in categories if not nurse) >= 3
    assert Category.objects.count() == 5
    assert {u.role for u in User.objects.all()} == {"member", "nurse", "moderator"}
    assert User.objects.count() == 8
    nurse = User.objects.get(email="nurse@haven.example")
    assert nurse.has_perm("moderation.answer_as_nurse")
    assert nurse.sign_off == "Best wishes,\nBreast Care Nurse"
    assert User.objects.get(email="admin@haven.example").is_superuser


def test_seeded_accounts_sign_in(api_client, settings):
    settings.HAVEN_DEMO_PASSWORD = PASSWORD
    call_command("seed_demo", "--quiet-accounts")
    response = api_client.post(
        "/_allauth/app/v1/auth/login",
        {"email": "bonnie52@haven.example", "password": PASSWORD},
        format="json",
    )
    assert response.status_code == 200


def test_seed_demo_refuses_where_demo_accounts_are_forbidden(settings):
    settings.HAVEN_ALLOW_DEMO_SEED = False
    with pytest.raises(CommandError, match="HAVEN_ALLOW_DEMO_SEED"):
        call_command("seed_demo")
    assert not User.objects.exists()


def test_the_demo_nurse_signs_in_to_the_admin_and_reaches_only_her_page(client, settings):
    """The README sends staff nurses to the admin's Ask Our Nurses page: it must open."""
    settings.HAVEN_DEMO_PASSWORD = PASSWORD
    call_command("seed_demo", "--quiet-accounts")
    response = client.post(
        "/admin/login/?next=/admin/",
        {"username": "nurse@haven.example", "password": PASSWORD},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/"
    assert client.get("/admin/moderation/unansweredquestion/").status_code == 200
    assert client.get("/admin/accounts/user/").status_code == 403
    assert client.get("/admin/core/auditentry/").status_code == 403
