"""Threads: start one, list and filter them, read one, find similar ones."""

import pytest

from accounts.roles import Role
from forum.models import Post, Subscription, Thread
from forum.services import thread_close
from tests.factories import CategoryFactory, UserFactory, make_thread

pytestmark = pytest.mark.django_db

THREADS = "/api/v1/threads/"


def test_a_member_starts_a_thread_with_its_first_post(member_client, member):
    CategoryFactory(slug="ask-our-nurses", nurse_answered=True)
    response = member_client.post(
        THREADS,
        {
            "category": "ask-our-nurses",
            "title": "  Treatment for a   local recurrence ",
            "body": " **Hello** there ",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    thread = Thread.objects.get()
    assert body["id"] == thread.pk
    assert body["title"] == "Treatment for a local recurrence"
    assert body["category"] == "ask-our-nurses"
    assert body["author"] == {
        "id": member.pk,
        "display_name": "Sparrowhawk",
        "role": "member",
        "title": None,
    }
    assert body["status"] == "open"
    assert body["reply_count"] == 0
    assert body["following"] is True
    assert body["closed_by"] is None
    assert body["first_post"]["body"] == "**Hello** there"
    assert body["first_post"]["body_html"] == "<p><strong>Hello</strong> there</p>\n"
    assert body["first_post"]["kind"] == "post"
    assert Subscription.objects.filter(user=member, thread=thread).exists()


@pytest.mark.parametrize(
    ("payload", "fields"),
    [
        (
            {"title": "Help", "body": "x"},
            {"title": ["The title must be at least 5 characters long."]},
        ),
        (
            {"title": "     Help     ", "body": "x"},
            {"title": ["The title must be at least 5 characters long."]},
        ),
        (
            {"title": "x" * 201, "body": "x"},
            {"title": ["The title must be at most 200 characters long (it has 201)."]},
        ),
        (
            {"title": "A good title", "body": "   \n  "},
            {"body": ["The post must be at least 1 character long."]},
        ),
        (
            {"title": "A good title", "body": "x" * 20_001},
            {"body": ["The post must be at most 20,000 characters long (it has 20,001)."]},
        ),
        (
            {"title": "Hey", "body": ""},
            {
                "title": ["The title must be at least 5 characters long."],
                "body": ["The post must be at least 1 character long."],
            },
        ),
        ({"title": "A good title"}, {"body": ["This field is required."]}),
        ({"title": 12345, "body": ["a list"]}, {"body": ["Not a valid string."]}),
    ],
)
def test_bad_thread_input_is_a_400_with_field_errors_and_writes_nothing(
    member_client, payload, fields
):
    CategoryFactory(slug="recurrence")
    response = member_client.post(THREADS, {"category": "recurrence", **payload}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert response.json()["fields"] == fields
    assert not Thread.objects.exists()
    assert not Post.objects.exists()


def test_an_unknown_category_is_a_field_error(member_client):
    response = member_client.post(
        THREADS, {"category": "nope", "title": "A good title", "body": "x"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["fields"] == {"category": ["Object with slug=nope does not exist."]}


def test_anonymous_visitors_read_but_cannot_post(api_client):
    CategoryFactory(slug="recurrence")
    assert api_client.get(THREADS).status_code == 200
    response = api_client.post(
        THREADS, {"category": "recurrence", "title": "A good title", "body": "x"}, format="json"
    )
    assert response.status_code == 401


def test_the_list_is_newest_activity_first_and_filters(member_client, member):
    nurses = CategoryFactory(slug="ask-our-nurses", nurse_answered=True)
    peers = CategoryFactory(slug="recurrence")
    other = UserFactory(display_name="Bonnie52")
    first = make_thread(author=member, category=nurses, title="First question here")
    second = make_thread(author=other, category=peers, title="Second thread here")
    third = make_thread(author=other, category=nurses, title="Third question here")
    thread_close(actor=UserFactory(role=Role.MODERATOR), thread=third)

    def ids(**params):
        response = member_client.get(THREADS, params)
        assert response.status_code == 200
        return [row["id"] for row in response.json()["results"]]

    assert ids() == [third.pk, second.pk, first.pk]
    assert ids(category="ask-our-nurses") == [third.pk, first.pk]
    assert ids(status="open") == [second.pk, first.pk]
    assert ids(status="closed") == [third.pk]
    assert ids(unanswered="true") == [first.pk]
    assert ids(author=other.pk) == [third.pk, second.pk]
    following = {
        row["id"]: row["following"] for row in member_client.get(THREADS).json()["results"]
    }
    assert following == {first.pk: True, second.pk: False, third.pk: False}
    assert member_client.get(THREADS).json()["count"] == 3


def test_bad_filters_are_field_errors(member_client):
    response = member_client.get(THREADS, {"status": "archived", "author": "me"})
    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"status", "author"}


def test_thread_detail(api_client):
    thread = make_thread()
    response = api_client.get(f"{THREADS}{thread.pk}/")
    assert response.status_code == 200
    assert set(response.json()) == {
        "id",
        "title",
        "category",
        "author",
        "status",
        "visibility",
        "closed_at",
        "closed_by",
        "close_reason",
        "reply_count",
        "like_count",
        "nurse_answered_at",
        "created_at",
        "last_activity_at",
        "following",
    }
    assert response.json()["following"] is False
    assert api_client.get(f"{THREADS}999999/").status_code == 404


def test_hidden_threads_are_not_found(api_client):
    thread = make_thread()
    Thread.objects.filter(pk=thread.pk).update(visibility="hidden")
    assert api_client.get(f"{THREADS}{thread.pk}/").status_code == 404
    assert api_client.get(THREADS).json()["results"] == []


def test_a_nurse_appears_under_her_title_never_her_name(api_client):
    nurse = UserFactory(display_name="Helen Example", role=Role.NURSE, email="helen@haven.test")
    thread = make_thread(author=nurse)
    text = api_client.get(f"{THREADS}{thread.pk}/").content.decode()
    assert "Helen" not in text
    assert "helen@haven.test" not in text
    assert api_client.get(f"{THREADS}{thread.pk}/").json()["author"] == {
        "id": None,
        "display_name": "Breast Care Nurse",
        "role": "nurse",
        "title": "Breast Care Nurse",
    }


def test_no_email_address_appears_in_any_forum_response(api_client, member, member_client):
    thread = make_thread(author=member)
    member_client.post(f"{THREADS}{thread.pk}/posts/", {"body": "hello"}, format="json")
    for url in (THREADS, f"{THREADS}{thread.pk}/", f"{THREADS}{thread.pk}/posts/"):
        assert member.email not in api_client.get(url).content.decode()
        assert member.email not in member_client.get(url).content.decode()
