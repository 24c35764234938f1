"""The reference scenario, replayed through the HTTP API as its two members lived it."""

import pytest
from django.core import mail
from rest_framework.test import APIClient

from forum.demo import REFERENCE_THREAD
from tests.factories import PASSWORD, CategoryFactory, UserFactory

pytestmark = pytest.mark.django_db


def _signed_in(email: str) -> APIClient:
    response = APIClient().post(
        "/_allauth/app/v1/auth/login", {"email": email, "password": PASSWORD}, format="json"
    )
    assert response.status_code == 200
    client = APIClient()
    client.credentials(HTTP_X_SESSION_TOKEN=response.json()["meta"]["session_token"])
    return client


def test_sparrowhawk_asks_bonnie52_answers_and_they_talk(django_capture_on_commit_callbacks):
    CategoryFactory(slug="ask-our-nurses", name="Ask Our Nurses", nurse_answered=True)
    CategoryFactory(slug="recurrence", name="Recurrence")
    UserFactory(email="sparrowhawk@haven.test", display_name="Sparrowhawk")
    UserFactory(email="bonnie52@haven.test", display_name="Bonnie52")
    sparrowhawk = _signed_in("sparrowhawk@haven.test")
    bonnie = _signed_in("bonnie52@haven.test")
    opening, first_reply, *follow_ups = REFERENCE_THREAD["posts"]

    # She looks first: nothing like it has been asked.
    similar = sparrowhawk.get("/api/v1/threads/similar/", {"title": REFERENCE_THREAD["title"]})
    assert similar.json() == {"results": []}

    asked = sparrowhawk.post(
        "/api/v1/threads/",
        {"category": "ask-our-nurses", "title": REFERENCE_THREAD["title"], "body": opening["body"]},
        format="json",
    )
    assert asked.status_code == 201
    thread = asked.json()
    assert thread["following"] is True
    posts_url = f"/api/v1/threads/{thread['id']}/posts/"

    # Bonnie52 replies from her own experience; she now follows the thread.
    with django_capture_on_commit_callbacks(execute=True):
        reply = bonnie.post(posts_url, {"body": first_reply["body"]}, format="json")
    assert reply.status_code == 201
    assert reply.json()["author"]["display_name"] == "Bonnie52"
    assert [m.to for m in mail.outbox] == [["sparrowhawk@haven.test"]]

    # Sparrowhawk likes it, twice by accident: one like.
    like_url = f"/api/v1/posts/{reply.json()['id']}/like/"
    assert sparrowhawk.post(like_url).json() == {"like_count": 1, "liked_by_me": True}
    assert sparrowhawk.post(like_url).json() == {"like_count": 1, "liked_by_me": True}

    # The follow-ups go back and forth; each notifies the other side.
    mail.outbox.clear()
    authors = {"Sparrowhawk": sparrowhawk, "Bonnie52": bonnie}
    for post in follow_ups:
        with django_capture_on_commit_callbacks(execute=True):
            response = authors[post["author"]].post(
                posts_url, {"body": post["body"]}, format="json"
            )
        assert response.status_code == 201
    assert [m.to[0].split("@")[0] for m in mail.outbox] == ["bonnie52", "sparrowhawk", "bonnie52"]

    bonnie_notes = bonnie.get("/api/v1/notifications/").json()["results"]
    assert [n["actor"]["display_name"] for n in bonnie_notes] == ["Sparrowhawk", "Sparrowhawk"]
    assert sparrowhawk.get("/api/v1/me/").json()["unread_notifications"] == 2

    # The whole thread reads back in order, with the like, to anyone.
    page = APIClient().get(posts_url).json()["results"]
    assert [p["author"]["display_name"] for p in page] == [
        p["author"] for p in REFERENCE_THREAD["posts"]
    ]
    assert [p["like_count"] for p in page] == [0, 1, 0, 0, 0]
    assert "🙂" in page[-1]["body_html"]  # "Sparrowhawk is our dogs name! :slight_smile:"
    detail = APIClient().get(f"/api/v1/threads/{thread['id']}/").json()
    assert (detail["reply_count"], detail["like_count"], detail["status"]) == (4, 1, "open")
    mine = sparrowhawk.get(posts_url).json()["results"]
    assert [p["liked_by_me"] for p in mine] == [False, True, False, False, False]

    # The next person with the same worry finds it, by search and by a similar title.
    found = APIClient().get("/api/v1/threads/", {"q": "recurrence"}).json()["results"]
    assert [t["id"] for t in found] == [thread["id"]]
    similar = APIClient().get(
        "/api/v1/threads/similar/", {"title": "Treatment options after local recurrence"}
    )
    assert [t["id"] for t in similar.json()["results"]] == [thread["id"]]
    unanswered = APIClient().get("/api/v1/threads/", {"unanswered": "true"}).json()["results"]
    assert [t["id"] for t in unanswered] == [thread["id"]]
