"""Reporting and the staff's pages (``moderation.pages``) through Django's test client: each
page and action per role, the services' refusals as the page's words, nothing half-written,
CSRF, and constant query counts."""

import re
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from allauth.account.models import EmailAddress
from django.conf import settings
from django.shortcuts import resolve_url
from django.test import Client
from django.utils import timezone

from accounts.models import User
from accounts.roles import Role
from core.errors import Forbidden
from core.models import AuditEntry
from forum.models import Notification, Post, Thread
from forum.services import post_create, post_hide, thread_close
from moderation.answers import nurse_answer_create
from moderation.flags import flag_create
from moderation.models import Flag, ReviewItem, SupportService
from moderation.queue import review_claim
from tests.factories import CategoryFactory, UserFactory, make_thread
from tests.pages import assert_page_frame, parse_page
from tests.utils import client_for, page_messages, race, signed_in

LONDON = ZoneInfo("Europe/London")
MONDAY_10AM = datetime(2026, 11, 23, 10, 0, tzinfo=LONDON)
SUNDAY_3PM = datetime(2026, 11, 22, 15, 0, tzinfo=LONDON)

pytestmark = pytest.mark.django_db


def _html(response: Any) -> str:
    return response.content.decode()


def _held_member(**fields: Any) -> User:
    user = UserFactory(**fields)
    User.objects.filter(pk=user.pk).update(premoderated_indefinitely=True)
    return User.objects.get(pk=user.pk)


def _set_rate(settings: Any, scope: str, rate: str) -> None:
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            scope: rate,
        },
    }


@pytest.fixture
def question(ask_our_nurses):
    return make_thread(
        author=UserFactory(display_name="Sparrowhawk"),
        category=ask_our_nurses,
        title="Lump after surgery",
        body="I found a new lump near my scar. Should I be worried?",
    )


@pytest.fixture
def reply(db):
    thread = make_thread(title="Coping with tiredness")
    return post_create(author=UserFactory(display_name="Marigold"), thread=thread, body="Rest.")


@pytest.fixture
def roles(db, nurse, moderator) -> dict[str, User]:
    return {
        "member": UserFactory(display_name="Bonnie52"),
        "nurse": nurse,
        "moderator": moderator,
        "admin": UserFactory(display_name="Site Admin", is_superuser=True, is_staff=True),
    }


# --- Who may open what -------------------------------------------------------------------------


def _urls(question: Thread, reply: Post) -> dict[str, str]:
    flag_create(flagger=UserFactory(), post=reply, reason="spam")
    item = ReviewItem.objects.get(post=reply)
    return {
        "report": f"/p/{reply.pk}/report/",
        "queue": "/staff/queue/",
        "item": f"/staff/queue/{item.pk}/",
        "questions": "/staff/questions/",
        "answer": f"/staff/t/{question.pk}/answer/",
        "close": f"/staff/t/{question.pk}/close/",
        "reopen": f"/staff/t/{question.pk}/reopen/",
        "hide": f"/staff/p/{reply.pk}/hide/",
        "restore": f"/staff/p/{reply.pk}/restore/",
    }


def test_a_signed_out_visitor_is_sent_to_sign_in_from_every_page(client, question, reply):
    login = resolve_url(settings.LOGIN_URL)
    for name, url in _urls(question, reply).items():
        for method in ("get", "post"):
            response = getattr(client, method)(url)
            assert response.status_code == 302, (name, method)
            assert response["Location"] == f"{login}?next={url}", (name, method)
    assert Flag.objects.count() == 1 and not Post.objects.exclude(kind="post").exists()


ALLOWED = {
    "report": {"member", "nurse", "moderator", "admin"},
    "queue": {"moderator", "admin"},
    "item": {"moderator", "admin"},
    "questions": {"nurse"},
    "answer": {"nurse"},
    "close": {"nurse", "moderator"},
    "reopen": {"nurse", "moderator"},
    "hide": {"moderator", "admin"},
    "restore": {"moderator", "admin"},
}
TITLES = {
    "report": "Report a post",
    "queue": "Review queue",
    "item": "Review: Coping with tiredness",
    "questions": "Nurse questions",
    "answer": "Answer as nurse",
    "close": "Close thread: Lump after surgery",
    "reopen": "Reopen thread: Lump after surgery",
    "hide": "Hide post",
    "restore": "Restore post",
}


def test_each_page_per_role_as_the_api_allows(question, reply, roles):
    """Staff pages refuse other roles with the branded 403 page, saying why; an admin
    without a staff role is refused what takes the role itself (answering, closing)."""
    urls = _urls(question, reply)
    for who, user in roles.items():
        client = signed_in(user)
        for name, url in urls.items():
            response = client.get(url)
            if who in ALLOWED[name]:
                assert response.status_code == 200, (who, name)
                assert_page_frame(response, TITLES[name])
            else:
                assert response.status_code == 403, (who, name)
                page = assert_page_frame(response, "Not allowed")
                assert "You cannot do this" in _html(response) and page.all("a", href="/")


def test_a_refused_post_changes_nothing(question, reply, roles):
    member = signed_in(roles["member"])
    for url, data in (
        (f"/staff/t/{question.pk}/answer/", {"body": "Hi", "action": "publish"}),
        (f"/staff/t/{question.pk}/close/", {"reason": "No"}),
        (f"/staff/p/{reply.pk}/hide/", {"reason": "No"}),
    ):
        assert member.post(url, data).status_code == 403, url
    nurse = signed_in(roles["nurse"])
    assert nurse.post(f"/staff/p/{reply.pk}/hide/", {"reason": "No"}).status_code == 403
    question.refresh_from_db()
    reply.refresh_from_db()
    assert question.status == "open" and reply.status == "visible"
    assert not Post.objects.filter(thread=question).exclude(kind="post").exists()


def test_csrf_is_enforced_on_every_form(question, reply, roles):
    for who, url, data in (
        ("member", f"/p/{reply.pk}/report/", {"reason": "spam"}),
        ("nurse", f"/staff/t/{question.pk}/close/", {"reason": ""}),
        ("moderator", f"/staff/p/{reply.pk}/hide/", {"reason": ""}),
    ):
        client = signed_in(roles[who], enforce_csrf_checks=True)
        assert client.post(url, data).status_code == 403, url
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', _html(client.get(url)))
        assert token
        response = client.post(url, {**data, "csrfmiddlewaretoken": token.group(1)})
        assert response.status_code == 303, url
    question.refresh_from_db()
    reply.refresh_from_db()
    assert question.status == "closed" and reply.status == "hidden"
    assert Flag.objects.filter(post=reply).count() == 1


# --- Reporting ---------------------------------------------------------------------------------


def test_a_member_reports_a_post_and_is_thanked(reply):
    member = UserFactory()
    client = signed_in(member)
    page = parse_page(client.get(f"/p/{reply.pk}/report/"))
    labels = re.findall(
        r'<label for="reason-\w+">(.*?)</label>', _html(client.get(f"/p/{reply.pk}/report/"))
    )
    assert labels == [
        "Spam",
        "Inappropriate",
        "Misinformation",
        "Someone may be at risk",
        "Something else",
    ]
    assert page.all("textarea", name="note", id="field-note")

    response = client.post(
        f"/p/{reply.pk}/report/", {"reason": "misinformation", "note": "Not what doctors say."}
    )
    assert (response.status_code, response["Location"]) == (303, f"/p/{reply.pk}/report/")
    flag = Flag.objects.get(post=reply)
    assert (flag.flagger, flag.reason, flag.note) == (
        member,
        "misinformation",
        "Not what doctors say.",
    )
    thanks = client.get(response["Location"])
    assert_page_frame(thanks, "Report sent")
    assert page_messages(thanks) == ["Thank you: your report has been sent to the moderators."]
    assert 'class="support"' not in _html(thanks)
    # Reported again (another tab, a double click): the service's word, nothing written.
    again = client.post(f"/p/{reply.pk}/report/", {"reason": "spam"})
    assert again.status_code == 409
    assert "You have already flagged this post." in _html(again)
    assert Flag.objects.filter(post=reply).count() == 1


def test_the_crisis_support_says_whether_the_helpline_is_open_now(ask_our_nurses, reply):
    client = signed_in(UserFactory())
    sent = client.post(f"/p/{reply.pk}/report/", {"reason": "safeguarding"})["Location"]
    with time_machine.travel(MONDAY_10AM):
        open_now = _html(client.get(sent))
    with time_machine.travel(SUNDAY_3PM):
        closed = _html(client.get(sent))
    assert "0808 800 6000" in open_now and "open now" in open_now.replace("’", "'")
    assert "open now" not in closed and "tomorrow at 9am" in closed


def test_a_safeguarding_report_shows_crisis_support_from_the_live_services(reply):
    client = signed_in(UserFactory())
    response = client.post(f"/p/{reply.pk}/report/", {"reason": "safeguarding"})
    html = _html(client.get(response["Location"]))
    support = re.search(r'<aside class="support" aria-label="Support">(.*?)</aside>', html, re.S)
    assert support, html
    text = support.group(1)
    assert "Samaritans" in text and "116 123" in text and "999" in text
    assert ReviewItem.objects.get(post=reply).urgent
    # The helpline's details as they are now, with when it next opens or that it is open.
    SupportService.objects.filter(key="helpline").delete()
    SupportService.objects.create(
        key="helpline", name="Helpline", phone="0808 000 1111", relay_prefix="18001"
    )
    again = _html(client.get(response["Location"]))
    assert "0808 000 1111" in again


def test_report_refusals_are_the_services_words_and_write_nothing(reply, moderator):
    author = signed_in(reply.author)
    own = author.post(f"/p/{reply.pk}/report/", {"reason": "spam"})
    assert own.status_code == 403 and "You cannot flag your own post." in _html(own)
    assert_page_frame(own, "Error: Report a post")
    member = signed_in(UserFactory())
    missing = member.post(f"/p/{reply.pk}/report/", {"note": "Hm"})
    assert missing.status_code == 400
    page = parse_page(missing)
    assert page.all("div", **{"class": "mod-error-summary", "role": "alert"}) or re.search(
        r'class="mod-error-summary" role="alert"', _html(missing)
    )
    assert 'href="#reason-spam"' in _html(missing)
    assert len(page.all("input", name="reason", **{"aria-invalid": "true"})) == 5
    assert page.all("fieldset", **{"aria-describedby": "reason-error"})
    assert ">Hm</textarea>" in _html(missing)  # what she typed is kept
    unknown = member.post(f"/p/{reply.pk}/report/", {"reason": "boredom"})
    assert unknown.status_code == 400 and 'id="reason-error"' in _html(unknown)
    long_note = member.post(f"/p/{reply.pk}/report/", {"reason": "spam", "note": "x" * 1001})
    assert long_note.status_code == 400 and 'href="#field-note"' in _html(long_note)
    notice = Post.objects.get(thread=reply.thread, kind="post", pk__lt=reply.pk)
    thread_close(actor=moderator, thread=reply.thread, reason="Done")
    system = Post.objects.get(thread=reply.thread, kind="system")
    assert member.post(f"/p/{system.pk}/report/", {"reason": "spam"}).status_code == 403
    assert not Flag.objects.exists()
    assert member.post(f"/p/{notice.pk}/report/", {"reason": "spam"}).status_code == 303
    unverified = UserFactory(verified=False)
    refused = signed_in(unverified).post(f"/p/{reply.pk}/report/", {"reason": "spam"})
    assert refused.status_code == 403 and "verify your email" in _html(refused)
    assert Flag.objects.count() == 1
    assert member.get("/p/999999/report/").status_code == 404


def test_reports_share_the_apis_flagging_throttle(settings, reply):
    _set_rate(settings, "flagging", "2/min")
    thread = reply.thread
    posts = [post_create(author=UserFactory(), thread=thread, body=f"Post {n}") for n in range(3)]
    flagger = UserFactory()
    api = client_for(flagger)
    assert api.post(f"/api/v1/posts/{posts[0].pk}/flags/", {"reason": "spam"}).status_code == 201
    page = signed_in(flagger)
    assert page.post(f"/p/{posts[1].pk}/report/", {"reason": "spam"}).status_code == 303
    throttled = page.post(f"/p/{posts[2].pk}/report/", {"reason": "spam"})
    assert throttled.status_code == 429 and int(throttled["Retry-After"]) >= 1
    assert "a lot of reports" in _html(throttled)
    assert api.post(f"/api/v1/posts/{posts[2].pk}/flags/", {"reason": "spam"}).status_code == 429
    assert Flag.objects.filter(flagger=flagger).count() == 2
    assert (
        signed_in(UserFactory()).post(f"/p/{posts[2].pk}/report/", {"reason": "spam"}).status_code
        == 303
    )


def _unseen_post(status: str, moderator: User) -> Post:
    """A post a member may not see: held for approval, or hidden by a moderator."""
    thread = make_thread(title="Open thread")
    author = _held_member(display_name="Quietwren") if status == "pending" else None
    post = post_create(
        author=author or UserFactory(display_name="Quietwren"),
        thread=thread,
        body="Words only moderators may read.",
    )
    if status == "hidden":
        post_hide(actor=moderator, post=post, reason="Rules")
    post.refresh_from_db()
    assert post.status == status
    return post


@pytest.mark.parametrize("status", ["pending", "hidden"])
def test_a_failed_report_never_quotes_a_post_she_may_not_see(settings, moderator, status):
    """No reason, an unknown reason, or over the throttle: the post she may not see is a
    404, as the form's GET is, never the form quoting it."""
    unseen = _unseen_post(status, moderator)
    member = signed_in(UserFactory())
    assert member.get(f"/p/{unseen.pk}/report/").status_code == 404
    no_reason = member.post(f"/p/{unseen.pk}/report/", {"note": "Hm"})
    bogus = member.post(f"/p/{unseen.pk}/report/", {"reason": "boredom"})
    _set_rate(settings, "flagging", "1/min")
    throttled_member = UserFactory()
    visible = post_create(author=UserFactory(), thread=unseen.thread, body="Seen by all.")
    throttled = signed_in(throttled_member)
    assert throttled.post(f"/p/{visible.pk}/report/", {"reason": "spam"}).status_code == 303
    over = throttled.post(f"/p/{unseen.pk}/report/", {"reason": "spam"})
    for response in (no_reason, bogus, over):
        assert response.status_code == 404
        assert "Words only moderators may read." not in _html(response)
        assert "Quietwren" not in _html(response)
    assert not Flag.objects.filter(post=unseen).exists()


@pytest.mark.parametrize("opening", [False, True], ids=["reply", "opening post"])
def test_the_report_that_hides_a_post_still_thanks_her_with_crisis_support(settings, opening):
    """The report that takes a post over the hide threshold hides it from her too: she is
    thanked all the same, with the crisis signposting, and the post is not quoted."""
    settings.HAVEN_FLAG_HIDE_THRESHOLD = 3
    thread = make_thread(title="Low days", body="Opening words of the thread.")
    post = (
        Post.objects.get(thread=thread)
        if opening
        else post_create(author=UserFactory(), thread=thread, body="A worrying reply.")
    )
    for _ in range(2):
        flag_create(flagger=UserFactory(), post=post, reason="inappropriate")
    client = signed_in(UserFactory())
    sent = client.post(f"/p/{post.pk}/report/", {"reason": "safeguarding"})
    assert (sent.status_code, sent["Location"]) == (303, f"/p/{post.pk}/report/")
    post.refresh_from_db()
    assert post.status == "hidden"
    thanks = client.get(sent["Location"])
    assert thanks.status_code == 200
    assert_page_frame(thanks, "Report sent")
    assert page_messages(thanks) == ["Thank you: your report has been sent to the moderators."]
    html = _html(thanks)
    support = re.search(r'<aside class="support" aria-label="Support">(.*?)</aside>', html, re.S)
    assert support and "Samaritans" in support.group(1) and "116 123" in support.group(1)
    assert post.body not in html and "as a priority" in html
    # An opening post hidden hides its thread: the way back is to the forum, not a 404.
    back = "Back to the forum" if opening else f'<a href="/t/{thread.pk}/">Back to the thread'
    assert back in html
    # Someone who did not report it still cannot open the page; a moderator sees the post.
    assert signed_in(UserFactory()).get(sent["Location"]).status_code == 404


def test_a_moderator_who_reported_a_post_now_hidden_sees_it_quoted(settings, moderator):
    settings.HAVEN_FLAG_HIDE_THRESHOLD = 2
    post = post_create(author=UserFactory(), thread=make_thread(), body="Buy pills here.")
    flag_create(flagger=UserFactory(), post=post, reason="spam")
    client = signed_in(moderator)
    assert client.post(f"/p/{post.pk}/report/", {"reason": "spam"}).status_code == 303
    thanks = client.get(f"/p/{post.pk}/report/")
    assert thanks.status_code == 200 and "Buy pills here." in _html(thanks)
    assert 'class="support"' not in _html(thanks)


def test_the_report_throttles_retry_after_is_rounded_up(settings, reply):
    """59.4 seconds left: "Retry-After: 60", as the API says (never 59: too early)."""
    _set_rate(settings, "flagging", "1/min")
    other = post_create(author=UserFactory(), thread=reply.thread, body="Another post")
    client = signed_in(UserFactory())
    start = datetime(2026, 11, 23, 10, 0, tzinfo=LONDON)
    with time_machine.travel(start, tick=False):
        assert client.post(f"/p/{reply.pk}/report/", {"reason": "spam"}).status_code == 303
    with time_machine.travel(start + timedelta(seconds=0.6), tick=False):
        throttled = client.post(f"/p/{other.pk}/report/", {"reason": "spam"})
    assert (throttled.status_code, throttled["Retry-After"]) == (429, "60")
    assert "Please try again in 1 minute." in _html(throttled)


def test_a_field_error_says_error_to_screen_readers_in_the_text(reply):
    """Not by CSS generated content, which screen readers do not reliably read."""
    missing = signed_in(UserFactory()).post(f"/p/{reply.pk}/report/", {"note": "Hm"})
    error = re.search(r'<p class="mod-field-error" id="reason-error">(.*?)</p>', _html(missing))
    assert error
    assert error.group(1).startswith('<span class="visually-hidden">Error: </span>')
    css = (settings.BASE_DIR / "core/static/haven/haven.css").read_text()
    assert 'content: "Error' not in css
    assert css.count(".visually-hidden {") == 1


# --- A nurse's answer --------------------------------------------------------------------------


def _preview(client: Client, thread: Thread, **data: Any) -> tuple[Any, str | None]:
    response = client.post(f"/staff/t/{thread.pk}/answer/", {"action": "preview", **data})
    digest = re.search(r'name="preview_digest" value="([0-9a-f]+)"', _html(response))
    return response, digest.group(1) if digest else None


def test_a_nurse_previews_then_publishes_exactly_what_she_saw(question, nurse):
    client = signed_in(nurse)
    form = client.get(f"/staff/t/{question.pk}/answer/")
    html = _html(form)
    assert "I found a new lump near my scar." in html  # the question is shown
    boxes = re.findall(r'<label for="signpost-(\w+)">(.*?)</label>', html)
    api = client_for(nurse).get("/api/v1/signposts/").json()
    assert boxes == [(s["key"], s["name"]) for s in api]  # the API's choices
    assert "<legend>Signposts</legend>" in html and "Helen Smith" not in html

    data = {
        "body": "Hi Sparrowhawk, please ring your team.",
        "signposts": ["helpline", "someone_like_me"],
        "close": "true",
    }
    preview, digest = _preview(client, question, **data)
    assert preview.status_code == 200 and digest
    api_preview = (
        client_for(nurse)
        .post(
            f"/api/v1/threads/{question.pk}/nurse-answer/preview/",
            {**data, "close": True},
            format="json",
        )
        .json()
    )
    assert digest == api_preview["preview_digest"]
    section = re.search(
        r'<section class="mod-preview" aria-labelledby="preview-heading">(.*?)</section>',
        _html(preview),
        re.S,
    )
    assert section and '<h2 id="preview-heading">Preview</h2>' in section.group(1)
    assert api_preview["body_html"] in section.group(1)
    assert api_preview["closing_notice"] in section.group(1)
    assert not Post.objects.filter(thread=question, kind="nurse_answer").exists()  # not yet

    published = client.post(
        f"/staff/t/{question.pk}/answer/", {**data, "action": "publish", "preview_digest": digest}
    )
    answer = Post.objects.get(thread=question, kind="nurse_answer")
    assert (published.status_code, published["Location"]) == (303, f"/p/{answer.pk}/")
    assert answer.body == api_preview["body"] and answer.author_title == "Breast Care Nurse"
    question.refresh_from_db()
    assert question.status == "closed"
    thread_page = client.get(f"/t/{question.pk}/")
    assert page_messages(thread_page) == ["Your answer is published and the thread is closed."]


def test_publishing_what_was_not_previewed_is_refused(question, nurse):
    client = signed_in(nurse)
    data = {"body": "Hi, please ring us.", "signposts": ["helpline"]}
    unpreviewed = client.post(f"/staff/t/{question.pk}/answer/", {**data, "action": "publish"})
    assert unpreviewed.status_code == 400
    assert "Preview your answer before publishing it." in _html(unpreviewed)
    _, digest = _preview(client, question, **data)
    # She changed her text after the preview:
    edited = client.post(
        f"/staff/t/{question.pk}/answer/",
        {**data, "body": "Hi, changed.", "action": "publish", "preview_digest": digest},
    )
    assert edited.status_code == 409 and "preview it again" in _html(edited)
    assert 'name="preview_digest"' not in _html(edited)  # the stale preview is gone
    assert ">Hi, changed.</textarea>" in _html(edited)
    # The helpline's details changed after the preview (what would publish changed):
    SupportService.objects.filter(key="helpline").update(phone="0808 999 0000")
    stale = client.post(
        f"/staff/t/{question.pk}/answer/", {**data, "action": "publish", "preview_digest": digest}
    )
    assert stale.status_code == 409
    assert not Post.objects.filter(thread=question, kind="nurse_answer").exists()
    question.refresh_from_db()
    assert question.nurse_answered_at is None


def test_answer_form_errors_sit_beside_their_fields(question, nurse):
    client = signed_in(nurse)
    empty, digest = _preview(client, question, body="   ", signposts=["no_such_signpost"])
    assert empty.status_code == 400 and digest is None
    page = parse_page(empty)
    assert page.all("textarea", id="field-body", **{"aria-invalid": "true"})
    assert 'id="body-error"' in _html(empty) and 'href="#field-body"' in _html(empty)
    elsewhere = make_thread(author=UserFactory(), category=CategoryFactory(slug="peers"))
    refused = _preview(client, elsewhere, body="Hello")[0]
    assert refused.status_code == 403 and "Nurse answers belong in Ask Our Nurses." in _html(
        refused
    )
    assert not Post.objects.filter(kind="nurse_answer").exists()


def test_a_second_nurse_is_told_and_may_send_a_follow_up(question, nurse):
    other = UserFactory(display_name="Margaret Jones", role=Role.NURSE)
    first, second = signed_in(nurse), signed_in(other)
    _, digest_one = _preview(first, question, body="First answer.")
    _, digest_two = _preview(second, question, body="Second answer.")
    assert (
        first.post(
            f"/staff/t/{question.pk}/answer/",
            {"body": "First answer.", "action": "publish", "preview_digest": digest_one},
        ).status_code
        == 303
    )
    late = second.post(
        f"/staff/t/{question.pk}/answer/",
        {"body": "Second answer.", "action": "publish", "preview_digest": digest_two},
    )
    assert late.status_code == 409 and "already answered" in _html(late)
    assert 'name="follow_up" value="true"' in _html(late)
    form = second.get(f"/staff/t/{question.pk}/answer/")
    assert "published as a follow-up answer" in _html(form)
    _, digest = _preview(second, question, body="Second answer.", follow_up="true")
    sent = second.post(
        f"/staff/t/{question.pk}/answer/",
        {
            "body": "Second answer.",
            "follow_up": "true",
            "action": "publish",
            "preview_digest": digest,
        },
    )
    assert sent.status_code == 303
    assert Post.objects.filter(thread=question, kind="nurse_answer").count() == 2


# --- Closing and reopening ---------------------------------------------------------------------


@pytest.mark.parametrize("who", ["nurse", "moderator"])
def test_staff_close_and_reopen_a_thread_with_a_note(question, roles, who):
    client = signed_in(roles[who])
    form = client.get(f"/staff/t/{question.pk}/close/")
    assert '<label for="field-reason">Closing note</label>' in _html(form)
    closed = client.post(f"/staff/t/{question.pk}/close/", {"reason": "Answered by phone."})
    assert (closed.status_code, closed["Location"]) == (303, f"/t/{question.pk}/")
    question.refresh_from_db()
    assert (question.status, question.close_reason) == ("closed", "Answered by phone.")
    page = client.get(closed["Location"])
    assert page_messages(page) == ["The thread is closed to new replies."]
    assert "Answered by phone." in _html(page)
    again = client.post(f"/staff/t/{question.pk}/close/", {"reason": "Twice"})
    assert again.status_code == 303
    assert page_messages(client.get(again["Location"])) == ["This thread is already closed."]
    assert Post.objects.filter(thread=question, kind="system").count() == 1
    reopened = client.post(f"/staff/t/{question.pk}/reopen/", {"reason": ""})
    assert reopened.status_code == 303
    question.refresh_from_db()
    assert question.status == "open"
    too_long = client.post(f"/staff/t/{question.pk}/close/", {"reason": "x" * 501})
    assert too_long.status_code == 400
    assert parse_page(too_long).all("textarea", id="field-reason", **{"aria-invalid": "true"})
    question.refresh_from_db()
    assert question.status == "open"


@pytest.mark.parametrize("who", ["nurse", "moderator"])
@pytest.mark.parametrize("how", ["suspended", "unverified"])
def test_a_suspended_or_unverified_staff_member_neither_closes_nor_reopens(
    question, roles, who, how
):
    """The service refuses them (``check_may_close`` asks ``check_can_write``): the page
    and the API alike, and nothing changes."""
    staff = roles[who]
    if how == "suspended":
        User.objects.filter(pk=staff.pk).update(suspended_indefinitely=True)
    else:
        EmailAddress.objects.filter(user=staff).update(verified=False)
    staff = User.objects.get(pk=staff.pk)
    client = signed_in(staff)
    code = "suspended" if how == "suspended" else "email_unverified"
    if how == "suspended":  # known without a query: the thread page does not offer it
        assert "Close thread" not in _links(client, question)
    for url in (f"/staff/t/{question.pk}/close/", f"/staff/t/{question.pk}/reopen/"):
        assert client.get(url).status_code == 403, url
        refused = client.post(url, {"reason": "No"})
        assert refused.status_code == 403, url
        assert_page_frame(refused, "Not allowed")
    api = client_for(staff).post(f"/api/v1/threads/{question.pk}/close/", {"reason": "No"})
    assert (api.status_code, api.json()["code"]) == (403, code)
    with pytest.raises(Forbidden) as service:
        thread_close(actor=staff, thread=question, reason="No")
    assert service.value.code == code
    question.refresh_from_db()
    assert question.status == "open"
    assert not Post.objects.filter(thread=question, kind="system").exists()
    assert not AuditEntry.objects.filter(action="thread_closed").exists()


# --- Hiding and restoring ----------------------------------------------------------------------


def test_a_moderator_hides_and_restores_a_post(reply, moderator):
    client = signed_in(moderator)
    hidden = client.post(
        f"/staff/p/{reply.pk}/hide/",
        {"reason": "Dangerous advice", "note": "Please see the rules."},
    )
    assert (hidden.status_code, hidden["Location"]) == (303, f"/p/{reply.pk}/")
    reply.refresh_from_db()
    assert reply.status == "hidden"
    told = Notification.objects.get(recipient=reply.author, kind="post_hidden")
    assert told.note == "Please see the rules."
    twice = client.post(f"/staff/p/{reply.pk}/hide/", {"reason": ""})
    assert twice.status_code == 303
    assert page_messages(client.get(f"/t/{reply.thread_id}/")) == [
        "The post is hidden.",
        "This post is already hidden.",
    ]
    restore_form = client.get(f"/staff/p/{reply.pk}/restore/")
    assert "Restore post</button>" in _html(restore_form)
    assert (
        client.post(f"/staff/p/{reply.pk}/restore/", {"reason": "On reflection"}).status_code == 303
    )
    reply.refresh_from_db()
    assert reply.status == "visible"


def test_nurse_answers_are_not_hidden_from_the_page_either(question, nurse, moderator):
    answer = nurse_answer_create(
        nurse=nurse, thread=question, body="Hello.", signposts=[], close=False
    )
    refused = signed_in(moderator).post(f"/staff/p/{answer.pk}/hide/", {"reason": "No"})
    assert refused.status_code == 403 and "not hidden or held" in _html(refused)
    answer.refresh_from_db()
    assert answer.status == "visible"


# --- The review queue --------------------------------------------------------------------------


def test_the_queue_lists_urgent_first_with_filters(moderator, roles):
    thread = make_thread(title="Spam thread")
    spam = post_create(author=UserFactory(), thread=thread, body="Buy now")
    worry = post_create(author=UserFactory(), thread=thread, body="I feel low")
    flag_create(flagger=UserFactory(), post=spam, reason="spam")
    flag_create(flagger=UserFactory(), post=worry, reason="safeguarding")
    client = signed_in(moderator)

    def links(query: str = "") -> list[str]:
        response = client.get(f"/staff/queue/{query}")
        assert response.status_code == 200, query
        return re.findall(r'<h2><a href="/staff/queue/\d+/">(.*?)</a></h2>', _html(response))

    assert links() == ["Spam thread — Safeguarding concern", "Spam thread — Spam"]
    assert links("?reason=spam") == ["Spam thread — Spam"]
    assert links("?urgent=true") == ["Spam thread — Safeguarding concern"]
    assert links("?status=dismissed") == []
    assert len(links("?reason=nonsense&urgent=maybe")) == 2  # refused values are ignored
    assert client.get("/staff/queue/?page=2").status_code == 404


def test_a_moderator_claims_and_resolves_an_item(reply, moderator, roles):
    member = roles["member"]
    flag_create(flagger=member, post=reply, reason="misinformation", note="Dangerous.")
    item = ReviewItem.objects.get(post=reply)
    client = signed_in(moderator)
    page = client.get(f"/staff/queue/{item.pk}/")
    html = _html(page)
    assert "Misinformation</strong> from Bonnie52" in html and "Dangerous." in html
    labels = re.findall(r'<label for="decision-\w+">(.*?)</label>', html)
    assert labels == ["Approve", "Reject", "Hide", "Restore", "Dismiss"]
    assert "<legend>Decision</legend>" in html and "Note to the author (optional)" in html

    claimed = client.post(f"/staff/queue/{item.pk}/", {"step": "claim"})
    assert claimed.status_code == 303
    assert "You are working on this item." in _html(client.get(claimed["Location"]))
    other = signed_in(roles["admin"])
    blocked = other.post(f"/staff/queue/{item.pk}/", {"step": "resolve", "action": "dismiss"})
    assert blocked.status_code == 303
    assert page_messages(other.get(blocked["Location"])) == [
        "Another moderator is working on this item."
    ]
    item.refresh_from_db()
    assert item.status == "pending"

    missing = client.post(f"/staff/queue/{item.pk}/", {"step": "resolve", "note": "Kept"})
    assert missing.status_code == 400 and 'href="#decision-approve"' in _html(missing)
    resolved = client.post(
        f"/staff/queue/{item.pk}/", {"step": "resolve", "action": "hide", "note": "Not safe."}
    )
    assert (resolved.status_code, resolved["Location"]) == (303, "/staff/queue/")
    assert page_messages(client.get("/staff/queue/")) == ["Resolved: hidden."]
    item.refresh_from_db()
    reply.refresh_from_db()
    assert (item.status, reply.status) == ("hidden", "hidden")
    late = other.post(f"/staff/queue/{item.pk}/", {"step": "resolve", "action": "approve"})
    assert page_messages(other.get(late["Location"])) == ["This item has already been resolved."]
    after = _html(other.get(f"/staff/queue/{item.pk}/"))
    assert "This item is resolved (hidden): Not safe." in after and "Resolve</button>" not in after


def test_a_held_first_post_approved_from_the_queue_is_public(moderator):
    wren = _held_member(display_name="Wren")
    thread = make_thread(author=wren, title="Looking after my mum")
    assert thread.visibility == "pending"
    assert Client().get(f"/t/{thread.pk}/").status_code == 404
    item = ReviewItem.objects.get(thread=thread)
    client = signed_in(moderator)
    page = _html(client.get(f"/staff/queue/{item.pk}/"))
    assert "Held: waiting for approval." in page and "What treatments might be offered" in page
    assert "Looking after my mum — Held for approval" in _html(client.get("/staff/queue/"))
    client.post(f"/staff/queue/{item.pk}/", {"step": "resolve", "action": "approve"})
    assert Client().get(f"/t/{thread.pk}/").status_code == 200


def test_a_held_post_is_not_dismissed(moderator):
    thread = make_thread(author=_held_member(), title="Held thread")
    item = ReviewItem.objects.get(thread=thread)
    client = signed_in(moderator)
    response = client.post(f"/staff/queue/{item.pk}/", {"step": "resolve", "action": "dismiss"})
    assert page_messages(client.get(response["Location"])) == [
        "A held post is approved or rejected, not dismissed."
    ]
    item.refresh_from_db()
    assert item.status == "pending"


# --- The nurses' questions ---------------------------------------------------------------------


def test_nurses_see_unanswered_questions_oldest_first(question, nurse, ask_our_nurses):
    newer = make_thread(author=UserFactory(), category=ask_our_nurses, title="Scan results wait")
    answered = make_thread(author=UserFactory(), category=ask_our_nurses, title="Answered one")
    nurse_answer_create(nurse=nurse, thread=answered, body="Hi.", signposts=[], close=False)
    response = signed_in(nurse).get("/staff/questions/")
    html = _html(response)
    titles = re.findall(r'<h2><a href="/t/\d+/">(.*?)</a></h2>', html)
    assert titles == ["Lump after surgery", "Scan results wait"]
    assert f'href="/staff/t/{question.pk}/answer/"' in html
    assert f'href="/staff/t/{newer.pk}/answer/"' in html
    assert re.search(r"Waiting [\d.]+ working hours?", html)


# --- The thread page's staff links -------------------------------------------------------------


def _links(client: Client, thread: Thread) -> list[str]:
    return re.findall(
        r">(Answer as nurse|Close thread|Reopen thread|Report|Hide|Restore)</a>",
        _html(client.get(f"/t/{thread.pk}/")),
    )


def test_the_thread_page_offers_each_role_its_actions(question, roles):
    member = roles["member"]
    post_create(author=member, thread=question, body="Me too.")
    assert _links(Client(), question) == []
    assert _links(signed_in(member), question) == ["Report"]  # not her own reply
    assert _links(signed_in(question.author), question) == ["Report"]
    assert _links(signed_in(roles["nurse"]), question) == [
        "Answer as nurse",
        "Close thread",
        "Report",
        "Report",
    ]
    assert _links(signed_in(roles["moderator"]), question) == [
        "Close thread",
        "Report",
        "Hide",
        "Report",
        "Hide",
    ]
    thread_close(actor=roles["moderator"], thread=question, reason="Done")
    assert _links(signed_in(roles["nurse"]), question) == ["Reopen thread", "Report", "Report"]


@pytest.mark.parametrize("size", [2, 30])
@pytest.mark.parametrize("who", ["nurse", "moderator"])
def test_staff_links_cost_no_query_on_the_thread_page(
    question, roles, size, who, django_assert_num_queries
):
    for n in range(size):
        post_create(author=UserFactory(), thread=question, body=f"Reply {n}")
    client = signed_in(roles[who])
    # The thread, its page, the session's user, the unread count; a moderator's permissions
    # (user's and groups') decide that she sees held and hidden posts.
    with django_assert_num_queries(4 if who == "nurse" else 6):
        response = client.get(f"/t/{question.pk}/")
    assert response.status_code == 200


# --- Query budgets -----------------------------------------------------------------------------


@pytest.mark.parametrize("size", [2, 25])
def test_the_queue_costs_a_constant_number_of_queries(
    settings, moderator, size, django_assert_num_queries
):
    settings.HAVEN_FLAG_HIDE_THRESHOLD = 1000  # the reports do not hide the post
    thread = make_thread()
    for n in range(size):
        post = post_create(author=UserFactory(), thread=thread, body=f"Reply {n}")
        # The item page's own item has ``size`` flags, each from another member.
        for _ in range(size if n == 0 else 2):
            flag_create(flagger=UserFactory(), post=post, reason="spam")
    first = ReviewItem.objects.get(post__body="Reply 0")
    assert first.flags.count() == size
    review_claim(moderator=moderator, item=first)
    client = signed_in(moderator)
    # session user, unread, permissions (2), count, page, flags
    with django_assert_num_queries(7):
        response = client.get("/staff/queue/")
    assert response.status_code == 200
    # session user, unread, permissions (2), the item (post, thread), its flags (flaggers)
    with django_assert_num_queries(6):
        response = client.get(f"/staff/queue/{first.pk}/")
    assert response.status_code == 200
    assert _html(response).count("</strong> from ") == size


@pytest.mark.parametrize("size", [2, 25])
@pytest.mark.parametrize(
    ("page", "who", "queries"),
    [
        # session user, the post, her open flag, its author, unread count
        ("report", "member", 5),
        # session user, permissions (2), her email verified, the thread, unread count
        ("close", "nurse", 6),
        ("reopen", "moderator", 6),
        # session user, permissions (2), the post, its author, unread count
        ("hide", "moderator", 6),
        ("restore", "moderator", 6),
    ],
)
def test_the_action_forms_cost_a_constant_number_of_queries(
    settings, question, roles, size, page, who, queries, django_assert_num_queries
):
    """However many posts the thread has, and however many reports the post has."""
    settings.HAVEN_FLAG_HIDE_THRESHOLD = 1000  # the reports do not hide the post
    posts = [
        post_create(author=UserFactory(), thread=question, body=f"Reply {n}") for n in range(size)
    ]
    target = posts[0]
    for _ in range(size):
        flag_create(flagger=UserFactory(), post=target, reason="spam")
    if page == "restore":
        post_hide(actor=roles["moderator"], post=target, reason="Rules")
    if page == "reopen":
        thread_close(actor=roles["moderator"], thread=question, reason="Done")
    url = {
        "report": f"/p/{target.pk}/report/",
        "close": f"/staff/t/{question.pk}/close/",
        "reopen": f"/staff/t/{question.pk}/reopen/",
        "hide": f"/staff/p/{target.pk}/hide/",
        "restore": f"/staff/p/{target.pk}/restore/",
    }[page]
    client = signed_in(roles[who])
    with django_assert_num_queries(queries):
        response = client.get(url)
    assert response.status_code == 200


@pytest.mark.parametrize("size", [2, 25])
def test_the_questions_cost_a_constant_number_of_queries(
    ask_our_nurses, nurse, size, django_assert_num_queries
):
    for n in range(size):
        make_thread(author=UserFactory(), category=ask_our_nurses, title=f"Question {n}")
    client = signed_in(nurse)
    # session user, unread, permissions (2), count, page, the nursing team's hours
    with django_assert_num_queries(7):
        response = client.get("/staff/questions/")
    assert response.status_code == 200


@pytest.mark.parametrize("size", [2, 25])
def test_the_answer_form_costs_a_constant_number_of_queries(
    question, nurse, size, django_assert_num_queries
):
    for n in range(size):
        post_create(author=UserFactory(), thread=question, body=f"Reply {n}")
    client = signed_in(nurse)
    # session user, unread, permissions (2), the thread, the question, templates, pages
    with django_assert_num_queries(8):
        response = client.get(f"/staff/t/{question.pk}/answer/")
    assert response.status_code == 200


def test_a_lapsed_claim_keeps_nobody_off(reply, moderator, roles, settings):
    flag_create(flagger=UserFactory(), post=reply, reason="spam")
    item = ReviewItem.objects.get(post=reply)
    review_claim(moderator=moderator, item=item)
    other = signed_in(roles["admin"])
    assert "Another moderator is working on this item." in _html(
        other.get(f"/staff/queue/{item.pk}/")
    )
    later = timedelta(minutes=settings.HAVEN_REVIEW_CLAIM_MINUTES + 1)
    with time_machine.travel(timezone.now() + later):
        page = _html(other.get(f"/staff/queue/{item.pk}/"))
        assert "Another moderator" not in page
        resolved = other.post(f"/staff/queue/{item.pk}/", {"step": "resolve", "action": "dismiss"})
    assert resolved["Location"] == "/staff/queue/"
    item.refresh_from_db()
    assert item.status == "dismissed"


@pytest.mark.django_db(transaction=True)
def test_two_moderators_resolving_at_once_resolve_it_once():
    moderators = [UserFactory(role=Role.MODERATOR) for _ in range(2)]
    thread = make_thread(title="Racing thread")
    post = post_create(author=UserFactory(), thread=thread, body="Buy now")
    flag_create(flagger=UserFactory(), post=post, reason="spam")
    item = ReviewItem.objects.get(post=post)
    outcomes: list[str] = []

    def resolve(moderator: User, action: str) -> None:
        response = signed_in(moderator).post(
            f"/staff/queue/{item.pk}/", {"step": "resolve", "action": action}
        )
        assert response.status_code == 303
        outcomes.append(response["Location"])

    errors = race(
        [lambda: resolve(moderators[0], "hide"), lambda: resolve(moderators[1], "dismiss")]
    )
    assert errors == []
    assert sorted(outcomes) == ["/staff/queue/", f"/staff/queue/{item.pk}/"]
    item.refresh_from_db()
    assert item.status in ("hidden", "dismissed")
    assert AuditEntry.objects.filter(action="review_resolved").count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_nurses_publishing_at_once_publish_one_first_answer(ask_our_nurses):
    nurses = [UserFactory(role=Role.NURSE) for _ in range(2)]
    thread = make_thread(category=ask_our_nurses, title="Racing question")
    clients = [signed_in(nurse) for nurse in nurses]
    digests = [_preview(client, thread, body=f"Answer {n}")[1] for n, client in enumerate(clients)]
    statuses: list[int] = []

    def publish(n: int) -> None:
        response = clients[n].post(
            f"/staff/t/{thread.pk}/answer/",
            {"body": f"Answer {n}", "action": "publish", "preview_digest": digests[n]},
        )
        statuses.append(response.status_code)

    assert race([lambda: publish(0), lambda: publish(1)]) == []
    assert sorted(statuses) == [303, 409]
    assert Post.objects.filter(thread=thread, kind="nurse_answer").count() == 1
