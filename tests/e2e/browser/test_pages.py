"""The read pages in Chromium, as people use them: by links, by keyboard, without JavaScript,
and checked by axe-core (0 serious or critical violations)."""

import re

import pytest
from playwright.sync_api import Page, expect

from accounts.models import User
from forum.demo import REFERENCE_THREAD
from forum.models import Post, Thread
from forum.selectors import notification_unread_count
from forum.services import post_create
from moderation.demo import SCENES
from tests.e2e.browser.helpers import axe_violations, describe, sign_in

NURSE_NAME = "Care Team 1"  # the demo nurse's own display name: never on a page
NURSE_TITLE = "Breast Care Nurse"
NURSES_CATEGORY = "Ask Our Nurses"


def _reference_thread() -> Thread:
    return Thread.objects.get(title=REFERENCE_THREAD["title"])


def _open_thread() -> Thread:
    """The demo's open thread with a reply (the moderation scene of a flagged post)."""
    return Thread.objects.get(title=SCENES["flagged"]["title"])


def _sensitive_reply(thread: Thread) -> Post:
    post = post_create(
        author=User.objects.get(display_name="Bonnie52"),
        thread=thread,
        body="What the scan showed, in detail.",
    )
    Post.objects.filter(pk=post.pk).update(sensitive=True)  # as a safeguarding screen marks it
    return post


def _assert_page_frame(page: Page, *, title: str) -> None:
    """What every page has: language, title, one h1, landmarks, the skip link first."""
    expect(page.locator("html")).to_have_attribute("lang", "en-GB")
    expect(page).to_have_title(re.compile(rf"{re.escape(title)}.* — Haven$"))
    expect(page.locator("h1")).to_have_count(1)
    expect(page.get_by_role("banner")).to_have_count(1)  # the page's <header>
    expect(page.locator("main#main")).to_have_count(1)
    expect(page.get_by_role("contentinfo")).to_have_count(1)  # the page's <footer>
    expect(page.locator("a.skip-link")).to_have_attribute("href", "#main")


def test_home_to_category_to_thread_by_clicking(page: Page, demo: None):
    thread = _reference_thread()

    page.goto("/")
    _assert_page_frame(page, title="")
    page.get_by_role("link", name=NURSES_CATEGORY).click()

    expect(page).to_have_url(re.compile(r"/c/ask-our-nurses/$"))
    _assert_page_frame(page, title=NURSES_CATEGORY)
    expect(page.locator("h1")).to_contain_text(NURSES_CATEGORY)
    page.get_by_role("link", name=thread.title).click()

    expect(page).to_have_url(re.compile(rf"/t/{thread.pk}/$"))
    _assert_page_frame(page, title=thread.title)
    expect(page.locator("h1")).to_have_text(thread.title)
    category_link = page.get_by_role("link", name=NURSES_CATEGORY, exact=True).first
    expect(category_link).to_have_attribute("href", "/c/ask-our-nurses/")
    category_link.click()
    expect(page).to_have_url(re.compile(r"/c/ask-our-nurses/$"))


def test_reference_thread_shows_the_nurse_answer_by_her_title_never_her_name(
    page: Page, demo: None
):
    thread = _reference_thread()
    answer = thread.posts.get(kind=Post.Kind.NURSE_ANSWER)

    page.goto(f"/t/{thread.pk}/")

    posts = page.locator("article.post")
    expect(posts.first).to_contain_text(REFERENCE_THREAD["posts"][0]["body"].split("\n")[0])
    nurse_post = page.locator(f"article.post.post-nurse#post-{answer.pk}")
    expect(nurse_post).to_be_visible()
    expect(nurse_post).to_contain_text(NURSE_TITLE)
    expect(nurse_post.locator("time[datetime]").first).to_be_attached()
    expect(page.locator("article.post.post-nurse")).to_have_count(1)
    html = page.content()
    assert NURSE_NAME not in html
    assert "nurse@haven.example" not in html


def test_closed_thread_shows_the_closing_notice(page: Page, demo: None):
    thread = _reference_thread()
    assert thread.status == Thread.Status.CLOSED

    page.goto(f"/t/{thread.pk}/")

    notice = page.locator("p.notice.notice-closed")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text(re.compile("closed", re.IGNORECASE))


def test_open_thread_shows_no_closing_notice(page: Page, demo: None):
    page.goto(f"/t/{_open_thread().pk}/")

    expect(page.locator("h1")).to_have_text(SCENES["flagged"]["title"])
    expect(page.locator("p.notice-closed")).to_have_count(0)


def test_sensitive_post_opens_on_click(page: Page, demo: None):
    post = _sensitive_reply(_open_thread())
    page.goto(f"/t/{post.thread_id}/")

    warning = page.locator(f"#post-{post.pk} details.sensitive")
    body = warning.get_by_text("What the scan showed, in detail.")
    expect(warning.locator("summary")).to_have_text("Content warning — open to read")
    expect(body).to_be_hidden()
    warning.locator("summary").click()
    expect(body).to_be_visible()
    expect(warning).to_have_attribute("open", "")


def test_sensitive_post_opens_with_the_keyboard(page: Page, demo: None):
    post = _sensitive_reply(_open_thread())
    page.goto(f"/t/{post.thread_id}/")
    summary = page.locator(f"#post-{post.pk} details.sensitive summary")

    for _ in range(60):  # Tab through the page until the warning has the focus
        page.keyboard.press("Tab")
        if summary.evaluate("element => element === document.activeElement"):
            break
    else:
        pytest.fail("The content warning is never reached with Tab.")
    page.keyboard.press("Enter")

    expect(page.get_by_text("What the scan showed, in detail.")).to_be_visible()


def test_skip_link_is_the_first_tab_stop_and_moves_focus_to_main(page: Page, demo: None):
    page.goto(f"/t/{_reference_thread().pk}/")

    page.keyboard.press("Tab")
    skip = page.locator("a.skip-link")
    expect(skip).to_be_focused()
    expect(skip).to_have_text("Skip to main content")
    expect(skip).to_be_visible()  # shown when focused, even if hidden otherwise
    outline = skip.evaluate("element => getComputedStyle(element).outlineStyle")
    assert outline != "none", "the focused skip link shows no focus outline"
    page.keyboard.press("Enter")

    expect(page.locator("main#main")).to_be_focused()


def test_pages_render_with_javascript_off(no_js_page: Page, demo: None):
    page = no_js_page
    thread = _reference_thread()
    post = _sensitive_reply(_open_thread())

    page.goto("/")
    expect(page.get_by_role("link", name=NURSES_CATEGORY)).to_be_visible()
    page.goto("/c/ask-our-nurses/")
    expect(page.get_by_role("link", name=thread.title)).to_be_visible()
    page.goto(f"/t/{thread.pk}/")
    expect(page.locator("article.post")).to_have_count(thread.posts.count())
    page.goto(f"/t/{post.thread_id}/")
    page.locator(f"#post-{post.pk} details.sensitive summary").click()
    expect(page.get_by_text("What the scan showed, in detail.")).to_be_visible()


def test_held_reply_shows_awaiting_review_to_its_author_only(
    page: Page, browser, live_url: str, demo: None
):
    wren = User.objects.get(display_name="Wren")  # premoderated in the demo
    thread = _open_thread()
    held = post_create(author=wren, thread=thread, body="A reply the moderators will read first.")
    assert held.status == Post.Status.PENDING

    page.goto(f"/t/{thread.pk}/")
    expect(page.locator("h1")).to_have_text(thread.title)
    expect(page.locator(f"#post-{held.pk}")).to_have_count(0)
    expect(page.get_by_text("A reply the moderators will read first.")).to_have_count(0)

    sign_in(page.context, wren, url=live_url)
    page.goto(f"/t/{thread.pk}/")
    expect(page.locator(f"#post-{held.pk}")).to_contain_text("Awaiting review")


def test_signed_in_header_shows_the_unread_notification_count(
    page: Page, live_url: str, demo: None
):
    sparrowhawk = User.objects.get(display_name="Sparrowhawk")
    unread = notification_unread_count(user=sparrowhawk)
    assert unread > 0

    sign_in(page.context, sparrowhawk, url=live_url)
    page.goto("/")

    expect(page.get_by_role("banner")).to_contain_text(re.compile(rf"\b{unread}\b"))


def test_unknown_category_and_thread_are_404(page: Page, demo: None):
    held_thread = Thread.objects.get(title=SCENES["held"]["title"])
    for path in ("/c/no-such-category/", "/t/999999/", f"/t/{held_thread.pk}/"):
        response = page.goto(path)
        assert response is not None and response.status == 404, path


def test_non_api_404_is_a_branded_page_and_the_api_keeps_json(page: Page, live_url: str):
    response = page.goto("/no-such-page/")

    assert response is not None and response.status == 404
    _assert_page_frame(page, title="")
    expect(page.locator("main")).to_have_count(1)
    expect(page.locator("main a[href='/']")).not_to_have_count(0)
    api = page.request.get("/api/v1/no-such-endpoint/")
    assert api.status == 404
    assert api.json()["code"] == "not_found"


@pytest.mark.parametrize("which", ["home", "category", "thread", "sensitive", "not_found"])
def test_axe_finds_no_serious_or_critical_violation(page: Page, demo: None, which: str):
    if which == "sensitive":  # an open thread with a reply behind its content warning
        post = _sensitive_reply(_open_thread())
        response = page.goto(f"/t/{post.thread_id}/")
        page.locator(f"#post-{post.pk} details.sensitive summary").click()
    else:
        response = page.goto(
            {
                "home": "/",
                "category": "/c/ask-our-nurses/",
                "thread": f"/t/{_reference_thread().pk}/",  # nurse answer, closing notice
                "not_found": "/no-such-page/",
            }[which]
        )
    assert response is not None
    assert response.status == (404 if which == "not_found" else 200)
    expect(page.locator("main#main")).to_have_count(1)  # the page itself, not a bare error

    violations = axe_violations(page)

    assert violations == [], describe(violations)
