"""The thread list filters through django-filter: every bad value a field error, never a 500."""

import pytest
from rest_framework.test import APIClient

from accounts.roles import Role
from forum.services import thread_close
from tests.factories import CategoryFactory, UserFactory, make_thread

pytestmark = pytest.mark.django_db
THREADS = "/api/v1/threads/"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "archived"}, "status"),
        ({"unanswered": "maybe"}, "unanswered"),
        ({"author": "me"}, "author"),
        ({"author": "1.5"}, "author"),
        ({"author": "0"}, "author"),
        ({"author": "99999999999999999999"}, "author"),  # beyond a database id
        ({"category": "not a slug"}, "category"),
        ({"category": "ask\x00nurses"}, "category"),
        ({"q": "x" * 201}, "q"),
        ({"q": "lump\x00"}, "q"),
    ],
)
def test_bad_filter_values_are_field_errors(params, field):
    response = APIClient().get(THREADS, params)
    assert response.status_code == 400
    body = response.json()
    assert (body["code"], list(body["fields"])) == ("invalid", [field])
    assert isinstance(body["fields"][field][0], str)


def test_each_filter_narrows_the_list():
    nurses = CategoryFactory(slug="ask-our-nurses", nurse_answered=True)
    peers = CategoryFactory(slug="recurrence")
    asker, other = UserFactory(), UserFactory()
    waiting = make_thread(author=asker, category=nurses, title="Waiting for a nurse")
    peer = make_thread(author=other, category=peers, title="Hair loss during chemotherapy")
    closed = make_thread(author=other, category=nurses, title="Closed question")
    thread_close(actor=UserFactory(role=Role.MODERATOR), thread=closed)

    def ids(**params):
        response = APIClient().get(THREADS, params)
        assert response.status_code == 200, response.json()
        return [row["id"] for row in response.json()["results"]]

    assert ids() == [closed.pk, peer.pk, waiting.pk]
    assert ids(category="ask-our-nurses") == [closed.pk, waiting.pk]
    assert ids(status="closed") == [closed.pk]
    assert ids(unanswered="true") == [waiting.pk]
    assert ids(unanswered="false") == [closed.pk, peer.pk, waiting.pk]
    assert ids(author=other.pk, status="open") == [peer.pk]
    assert ids(q="chemotherapy") == [peer.pk]
    assert ids(q="chemotherapy", category="ask-our-nurses") == []


def test_the_schema_documents_the_filters_from_the_filterset(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    parameters = {p["name"]: p["schema"] for p in schema["paths"][THREADS]["get"]["parameters"]}
    assert parameters["status"] == {"type": "string", "enum": ["closed", "open"]}
    assert parameters["unanswered"] == {"type": "boolean"}
    assert parameters["author"] == {"type": "integer"}
    assert {"category", "q", "page", "page_size"} <= set(parameters)
