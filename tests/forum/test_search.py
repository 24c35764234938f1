"""PostgreSQL full-text search over titles (weight A) and posts (weight B)."""

import pytest
from django.db import connection
from rest_framework.test import APIClient

from forum.models import Thread
from forum.services import post_delete, post_edit
from tests.factories import UserFactory, make_reply, make_thread

pytestmark = pytest.mark.django_db


def _search(q: str) -> list[str]:
    response = APIClient().get("/api/v1/threads/", {"q": q})
    assert response.status_code == 200
    return [row["title"] for row in response.json()["results"]]


def test_search_finds_titles_and_post_bodies_titles_first():
    author = UserFactory()
    make_thread(author=author, title="Feeling tired after radiotherapy", body="So tired.")
    in_title = make_thread(author=author, title="Treatment for a local recurrence", body="Hello")
    in_body = make_thread(author=author, title="Coping with scan results", body="Waiting")
    make_reply(author=UserFactory(), thread=in_body, body="My recurrence was found on a scan.")
    assert _search("recurrence") == [in_title.title, in_body.title]
    # English stemming: the plural finds the singular.
    assert _search("recurrences") == [in_title.title, in_body.title]
    assert _search("radiotherapy tired") == ["Feeling tired after radiotherapy"]
    assert _search("chemotherapy") == []


def test_the_index_follows_edits_and_deletions():
    author = UserFactory()
    thread = make_thread(author=author, title="A question about scans", body="Hello")
    reply = make_reply(author=author, thread=thread, body="I asked about herceptin.")
    assert _search("herceptin") == ["A question about scans"]
    post_edit(user=author, post=reply, body="I asked about tamoxifen.")
    assert _search("herceptin") == []
    assert _search("tamoxifen") == ["A question about scans"]
    post_delete(user=author, post=reply)
    assert _search("tamoxifen") == []


def test_search_uses_the_gin_index():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'forum_thread_search_gin'"
        )
        (indexdef,) = cursor.fetchone()
    assert "USING gin (search_vector)" in indexdef


def test_search_syntax_never_errors():
    make_thread(title="Treatment for a local recurrence")
    for q in ['"local recurrence"', "-chemo recurrence", "a & b | !c", "'))--", "🙂", "or"]:
        assert APIClient().get("/api/v1/threads/", {"q": q}).status_code == 200


def test_similar_titles_suggest_earlier_threads():
    author = UserFactory()
    asked = make_thread(author=author, title="Treatment for a local recurrence")
    make_thread(author=author, title="Hair loss during chemotherapy")
    for n in range(7):
        make_thread(author=author, title=f"Recurrence question number {n}")
    response = APIClient().get(
        "/api/v1/threads/similar/", {"title": "What treatment after local recurrence?"}
    )
    assert response.status_code == 200
    results = response.json()["results"]
    assert len(results) == 5
    assert results[0]["id"] == asked.pk
    assert "Hair loss during chemotherapy" not in [r["title"] for r in results]


def test_similar_needs_a_title():
    response = APIClient().get("/api/v1/threads/similar/")
    assert response.status_code == 400
    assert response.json()["fields"] == {"title": ["This field is required."]}
    assert APIClient().get("/api/v1/threads/similar/", {"title": "a an"}).json() == {"results": []}


def test_hidden_threads_are_never_suggested_or_found():
    thread = make_thread(title="Treatment for a local recurrence")
    Thread.objects.filter(pk=thread.pk).update(visibility="hidden")
    assert _search("recurrence") == []
    similar = APIClient().get("/api/v1/threads/similar/", {"title": "local recurrence"})
    assert similar.json() == {"results": []}
