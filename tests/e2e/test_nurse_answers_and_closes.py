"""The whole reference thread through the API, ending as it did: the nurse answers and closes."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from rest_framework.test import APIClient

from accounts.roles import Role
from forum.demo import REFERENCE_THREAD
from moderation import demo
from tests.e2e.test_reference_thread import _signed_in
from tests.factories import CategoryFactory, UserFactory, run_fan_out

pytestmark = pytest.mark.django_db

MONDAY_11AM = datetime(2026, 11, 23, 11, 0, tzinfo=ZoneInfo("Europe/London"))


@time_machine.travel(MONDAY_11AM)
def test_the_breast_care_nurse_answers_signposts_and_closes_the_thread():
    demo.install()
    CategoryFactory(slug="ask-our-nurses", name="Ask Our Nurses", nurse_answered=True)
    UserFactory(email="sparrowhawk@haven.test", display_name="Sparrowhawk")
    UserFactory(email="bonnie52@haven.test", display_name="Bonnie52")
    UserFactory(
        email="jane.doe@nhs.example",
        display_name="Jane Doe",
        role=Role.NURSE,
        sign_off="Best wishes,\nBreast Care Nurse",
    )
    sparrowhawk = _signed_in("sparrowhawk@haven.test")
    bonnie = _signed_in("bonnie52@haven.test")
    nurse = _signed_in("jane.doe@nhs.example")
    people = {"Sparrowhawk": sparrowhawk, "Bonnie52": bonnie}

    opening, *replies = REFERENCE_THREAD["posts"]
    thread = sparrowhawk.post(
        "/api/v1/threads/",
        {"category": "ask-our-nurses", "title": REFERENCE_THREAD["title"], "body": opening["body"]},
        format="json",
    ).json()
    posts_url = f"/api/v1/threads/{thread['id']}/posts/"
    for reply in replies:
        created = people[reply["author"]].post(posts_url, {"body": reply["body"]}, format="json")
        for liker in reply.get("liked_by", []):
            people[liker].post(f"/api/v1/posts/{created.json()['id']}/like/")

    # The question waits in the nurses' queue, with member replies.
    queue = nurse.get("/api/v1/nurse/queue/").json()["results"]
    assert [(q["id"], q["member_replies"]) for q in queue] == [(thread["id"], 4)]

    # The nurse picks her signposts: previews show today's details, the overdue page is flagged.
    signposts = {s["key"]: s for s in nurse.get("/api/v1/signposts/").json()}
    assert "0114 263 6490" in signposts["someone_like_me"]["preview"]
    assert "We’re open now." in signposts["helpline"]["preview"]
    assert signposts["metastatic_or_recurrent"]["review_overdue"] is True

    answer = REFERENCE_THREAD["nurse_answer"]
    response = nurse.post(
        f"/api/v1/threads/{thread['id']}/nurse-answer/",
        {"body": answer["body"], "signposts": answer["signposts"], "close": True},
        format="json",
    )
    assert response.status_code == 201
    run_fan_out()  # the answer's job, after the commit
    text = response.json()["body"]
    for expected in (
        "0114 263 6490",
        "0808 800 6000",
        "18001",
        "Monday to Friday 9am–4pm and Saturday 9am–1pm",
        "Best wishes,\nBreast Care Nurse",
        "[Ask Our Nurses disclaimer](https://haven.example/ask-our-nurses-disclaimer)",
    ):
        assert expected in text

    detail = APIClient().get(f"/api/v1/threads/{thread['id']}/").json()
    assert detail["status"] == "closed"
    assert detail["nurse_answered_at"] is not None
    assert nurse.get("/api/v1/nurse/queue/").json()["results"] == []

    # Sparrowhawk's thank-you comes too late: the thread is closed. Likes still work.
    late = sparrowhawk.post(posts_url, {"body": "Thank you so much!"}, format="json")
    assert late.status_code == 403
    assert late.json()["code"] == "thread_closed"
    liked = sparrowhawk.post(f"/api/v1/posts/{response.json()['id']}/like/")
    assert liked.json() == {"like_count": 1, "liked_by_me": True}

    page = APIClient().get(posts_url, {"page_size": 50}).json()["results"]
    assert [p["kind"] for p in page] == ["post"] * 5 + ["nurse_answer", "system"]
    assert page[-1]["body"].startswith("This thread will now be closed from further replies.")
    assert sparrowhawk.get("/api/v1/notifications/").json()["results"][0]["priority"] == "high"

    # Nobody ever sees the nurse's name or email.
    for client in (APIClient(), sparrowhawk, bonnie):
        for url in (posts_url, f"/api/v1/threads/{thread['id']}/", "/api/v1/threads/"):
            content = client.get(url, {"page_size": 50}).content.decode()
            assert "Jane" not in content
            assert "nhs.example" not in content
    for client in (sparrowhawk, bonnie):
        content = client.get("/api/v1/notifications/").content.decode()
        assert "Jane" not in content
        assert "Breast Care Nurse" in content
