"""Reporting and the staff's pages in Chromium, as the nurses, moderators and members use
them: by labels and buttons, and checked by axe-core (0 serious or critical violations),
error states included."""

import re

from playwright.sync_api import Browser, Page, expect

from accounts.models import User
from forum.models import Category, Post, Thread
from forum.services import post_create, thread_create
from moderation.demo import SCENES
from moderation.models import Flag, ReviewItem
from moderation.safeguarding_defaults import SAMARITANS
from moderation.services import support_service_ensure
from tests.e2e.browser.helpers import axe_violations, describe, sign_in

NURSE_NAME = "Care Team 1"  # the demo nurse's own display name: never on a page


def _user(name: str) -> User:
    return User.objects.get(display_name=name)


def _assert_accessible(page: Page, what: str) -> None:
    violations = axe_violations(page)
    assert violations == [], f"{what}:\n{describe(violations)}"


def _new_question(title: str = "Swelling in my arm after surgery") -> Thread:
    return thread_create(
        author=_user("Sparrowhawk"),
        category=Category.objects.get(slug="ask-our-nurses"),
        title=title,
        body="My arm has swollen since the operation. Is this lymphoedema?",
    )


def _flagged_scene_reply() -> Post:
    thread = Thread.objects.get(title=SCENES["flagged"]["title"])
    return thread.posts.get(author__display_name="Marigold")


def test_a_nurse_answers_with_two_signposts_after_the_preview_and_closes(
    page: Page, live_url: str, demo: None
):
    question = _new_question()
    sign_in(page.context, User.objects.get(email="nurse@haven.example"), url=live_url)
    page.goto(f"/t/{question.pk}/")
    page.get_by_role("link", name="Answer as nurse").click()

    expect(page.locator("h1")).to_have_text("Answer as nurse")
    expect(page.get_by_text("Is this lymphoedema?")).to_be_visible()
    _assert_accessible(page, "the answer form")
    page.get_by_label("Your answer").fill("Hi Sparrowhawk, swelling can be lymphoedema.")
    signposts = page.get_by_role("group", name="Signposts")
    signposts.get_by_label("Helpline").check()
    signposts.get_by_label("Someone Like Me").check()
    page.get_by_label("Close the thread with this answer").check()
    page.get_by_role("button", name="Preview").click()

    preview = page.get_by_role("region", name="Preview")
    expect(preview).to_contain_text("swelling can be lymphoedema")
    expect(preview).to_contain_text("0808 800 6000")  # the helpline, from the live services
    expect(preview).to_contain_text("Someone Like Me")
    expect(preview).to_contain_text("Ask Our Nurses disclaimer")
    expect(preview).to_contain_text("This thread will now be closed")
    _assert_accessible(page, "the answer's preview")
    assert not question.posts.filter(kind=Post.Kind.NURSE_ANSWER).exists()
    page.get_by_role("button", name="Publish answer").click()

    answer = question.posts.get(kind=Post.Kind.NURSE_ANSWER)
    expect(page).to_have_url(re.compile(rf"/p/{answer.pk}/|/t/{question.pk}/"))
    page.goto(f"/t/{question.pk}/")
    article = page.locator(f"article#post-{answer.pk}")
    expect(article).to_contain_text("Breast Care Nurse")
    expect(article).to_contain_text("0808 800 6000")
    expect(page.locator("p.notice-closed")).to_be_visible()
    expect(page.get_by_role("link", name="Reopen thread")).to_be_visible()
    assert NURSE_NAME not in page.content()
    question.refresh_from_db()
    assert question.status == Thread.Status.CLOSED


def test_a_stale_preview_asks_the_nurse_to_preview_again(page: Page, live_url: str, demo: None):
    question = _new_question("Hair loss during chemotherapy")
    sign_in(page.context, User.objects.get(email="nurse@haven.example"), url=live_url)
    page.goto(f"/staff/t/{question.pk}/answer/")
    page.get_by_role("button", name="Preview").click()  # nothing written: an error
    expect(page.get_by_role("alert")).to_contain_text("The post must be")
    expect(page.get_by_label("Your answer")).to_have_attribute("aria-invalid", "true")
    _assert_accessible(page, "the answer form with an error")

    page.get_by_label("Your answer").fill("Hi, cold caps can help.")
    page.get_by_role("button", name="Preview").click()
    page.get_by_label("Your answer").fill("Hi, cold caps can help some people.")
    page.get_by_role("button", name="Publish answer").click()

    expect(page.get_by_role("alert")).to_contain_text("preview it again")
    expect(page.get_by_role("button", name="Publish answer")).to_have_count(0)
    assert not question.posts.filter(kind=Post.Kind.NURSE_ANSWER).exists()


def test_a_member_reports_for_safeguarding_and_a_moderator_resolves_it(
    page: Page, browser: Browser, live_url: str, demo: None
):
    support_service_ensure(key="samaritans", **SAMARITANS)
    reply = _flagged_scene_reply()
    sign_in(page.context, _user("Bonnie52"), url=live_url)
    page.goto(f"/t/{reply.thread_id}/")
    page.locator(f"article#post-{reply.pk}").get_by_role("link", name="Report").click()

    expect(page.locator("h1")).to_have_text("Report a post")
    _assert_accessible(page, "the report form")
    page.get_by_role("button", name="Send report").click()  # no reason chosen
    expect(page.get_by_role("alert")).to_contain_text("Choose why you are reporting this post.")
    _assert_accessible(page, "the report form with an error")
    page.get_by_role("group", name="Why are you reporting this post?").get_by_label(
        "Someone may be at risk"
    ).check()
    page.get_by_label("Anything the moderators should know (optional)").fill(
        "She sounds desperate."
    )
    page.get_by_role("button", name="Send report").click()

    expect(page.locator("h1")).to_have_text("Thank you for your report")
    support = page.get_by_role("complementary", name="Support")
    expect(support).to_contain_text("116 123")
    expect(support).to_contain_text("999")
    expect(support).to_contain_text(re.compile(r"open now|open again"))
    _assert_accessible(page, "the report's confirmation with crisis support")

    moderator = browser.new_context(base_url=live_url, locale="en-GB")
    try:
        staff = moderator.new_page()
        sign_in(moderator, User.objects.get(email="moderator@haven.example"), url=live_url)
        staff.goto("/")
        staff.get_by_role("link", name="Review queue").click()
        expect(staff.locator("h1")).to_have_text("Review queue")
        _assert_accessible(staff, "the review queue")
        staff.get_by_role(
            "link", name=f"{SCENES['flagged']['title']} — Safeguarding concern, Misinformation"
        ).click()
        expect(staff.get_by_text("She sounds desperate.")).to_be_visible()
        _assert_accessible(staff, "a review item")
        staff.get_by_role("button", name="Claim").click()
        expect(staff.get_by_role("status")).to_contain_text("You have claimed this item.")
        staff.get_by_role("button", name="Resolve").click()  # no decision yet
        expect(staff.get_by_role("alert")).to_contain_text("Choose a decision.")
        _assert_accessible(staff, "a review item with an error")
        staff.get_by_role("group", name="Decision").get_by_label("Hide").check()
        staff.get_by_label("Note to the author (optional)").fill("Removed for your safety.")
        staff.get_by_role("button", name="Resolve").click()

        expect(staff).to_have_url(re.compile(r"/staff/queue/$"))
        expect(staff.get_by_role("status")).to_contain_text("Resolved: hidden.")
        expect(
            staff.get_by_role("link", name=re.compile(SCENES["flagged"]["title"]))
        ).to_have_count(0)
    finally:
        moderator.close()
    item = ReviewItem.objects.get(post=reply)
    reply.refresh_from_db()
    assert (item.status, reply.status) == (ReviewItem.Status.HIDDEN, Post.Status.HIDDEN)


def test_a_held_first_post_is_approved_from_the_queue_then_public(
    page: Page, browser: Browser, live_url: str, demo: None
):
    held = Thread.objects.get(title=SCENES["held"]["title"])
    assert held.visibility == Thread.Visibility.PENDING
    reader = browser.new_context(base_url=live_url, locale="en-GB")
    try:
        anonymous = reader.new_page()
        response = anonymous.goto(f"/t/{held.pk}/")
        assert response is not None and response.status == 404

        sign_in(page.context, User.objects.get(email="moderator@haven.example"), url=live_url)
        page.goto("/staff/queue/")
        page.get_by_role("link", name=f"{held.title} — Held for approval").click()
        expect(page.get_by_text("Held: waiting for approval.")).to_be_visible()
        page.get_by_role("group", name="Decision").get_by_label("Approve").check()
        page.get_by_role("button", name="Resolve").click()
        expect(page.get_by_role("status")).to_contain_text("Resolved: approved.")

        response = anonymous.goto(f"/t/{held.pk}/")
        assert response is not None and response.status == 200
        expect(anonymous.get_by_text(SCENES["held"]["body"])).to_be_visible()
    finally:
        reader.close()


def test_every_staff_page_passes_axe(page: Page, browser: Browser, live_url: str, demo: None):
    """The pages not met above, and their refusals, for each role that sees them."""
    question = _new_question("Scan results wait")
    reply = _flagged_scene_reply()
    sign_in(page.context, User.objects.get(email="nurse@haven.example"), url=live_url)
    for url, heading in (
        ("/staff/questions/", "Nurse questions"),
        (f"/staff/t/{question.pk}/close/", "Close thread"),
        ("/staff/queue/", "You cannot do this"),  # a nurse in the moderators' queue: 403
    ):
        page.goto(url)
        expect(page.locator("h1")).to_have_text(heading)
        _assert_accessible(page, url)
    page.goto("/staff/questions/")
    page.get_by_role("link", name=question.title, exact=True).first.click()
    expect(page.locator("h1")).to_have_text(question.title)
    page.goto(f"/staff/t/{question.pk}/close/")
    page.get_by_label("Closing note").fill("x" * 501)
    page.get_by_role("button", name="Close thread").click()
    expect(page.get_by_label("Closing note")).to_have_attribute("aria-invalid", "true")
    _assert_accessible(page, "the close form with an error")
    page.get_by_label("Closing note").fill("Answered by phone.")
    page.get_by_role("button", name="Close thread").click()
    expect(page.get_by_role("status")).to_contain_text("The thread is closed")
    page.get_by_role("link", name="Reopen thread").click()
    expect(page.locator("h1")).to_have_text("Reopen thread")
    _assert_accessible(page, "the reopen form")

    moderator = browser.new_context(base_url=live_url, locale="en-GB")
    try:
        staff = moderator.new_page()
        sign_in(moderator, User.objects.get(email="moderator@haven.example"), url=live_url)
        staff.goto(f"/t/{reply.thread_id}/")
        _assert_accessible(staff, "the thread page with a moderator's links")
        staff.locator(f"article#post-{reply.pk}").get_by_role("link", name="Hide").click()
        expect(staff.locator("h1")).to_have_text("Hide post")
        _assert_accessible(staff, "the hide form")
        staff.get_by_label("Reason").fill("Dangerous advice")
        staff.get_by_role("button", name="Hide post").click()
        staff.goto(f"/t/{reply.thread_id}/")
        staff.locator(f"article#post-{reply.pk}").get_by_role("link", name="Restore").click()
        expect(staff.locator("h1")).to_have_text("Restore post")
        _assert_accessible(staff, "the restore form")
        staff.get_by_role("button", name="Restore post").click()
        staff.goto("/staff/queue/?status=hidden&reason=spam")
        _assert_accessible(staff, "the queue, filtered and empty")
    finally:
        moderator.close()
    reply.refresh_from_db()
    assert reply.status == Post.Status.VISIBLE


def test_reporting_works_without_javascript(no_js_page: Page, live_url: str, demo: None):
    page = no_js_page
    reply = post_create(author=_user("Marigold"), thread=_new_question(), body="Try turmeric.")
    sign_in(page.context, _user("Bonnie52"), url=live_url)
    page.goto(f"/t/{reply.thread_id}/")
    page.locator(f"article#post-{reply.pk}").get_by_role("link", name="Report").click()
    page.get_by_label("Misinformation").check()
    page.get_by_role("button", name="Send report").click()
    expect(page.locator("h1")).to_have_text("Thank you for your report")
    expect(page.get_by_role("status")).to_contain_text("your report has been sent")
    assert Flag.objects.filter(post=reply, reason="misinformation").exists()
