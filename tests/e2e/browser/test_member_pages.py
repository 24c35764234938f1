"""The members' writing pages in Chromium: asking (with "Asked before?" suggestions while
typing), replying, liking, following, editing, notifications and search; the same without
JavaScript; and axe-core's check (0 serious or critical violations) on every page they add,
forms with errors included."""

import re

import pytest
from playwright.sync_api import Page, expect

from accounts.models import User
from forum.demo import REFERENCE_THREAD
from forum.models import Notification, Post, Thread
from forum.services import post_create
from moderation.demo import SCENES
from tests.e2e.browser.helpers import axe_violations, describe, sign_in

NURSES = "/c/ask-our-nurses/"
QUESTION = "Which treatments after a local recurrence?"


def _member(name: str) -> User:
    return User.objects.get(display_name=name)


def _open_thread() -> Thread:
    """Bonnie52's open thread of the demo, with Marigold's reply."""
    return Thread.objects.get(title=SCENES["flagged"]["title"])


def _opening_post(thread: Thread) -> Post:
    return thread.posts.order_by("created_at", "id").first()  # type: ignore[return-value]


def _mark_page(page: Page) -> None:
    """Leave a mark on the page's window: it survives an htmx swap, not a reload."""
    page.evaluate("window.havenMark = 'still here'")


def _same_page(page: Page) -> bool:
    return page.evaluate("window.havenMark") == "still here"


def _assert_no_violations(page: Page) -> None:
    violations = axe_violations(page)
    assert violations == [], describe(violations)


# --- With JavaScript (htmx enhances) ----------------------------------------------------------


def test_ask_sees_a_suggestion_while_typing_then_posts(page: Page, live_url: str, demo: None):
    sign_in(page.context, _member("Sparrowhawk"), url=live_url)
    page.goto(NURSES)
    page.get_by_role("link", name="Start a new thread").click()
    expect(page.locator("h1")).to_have_text("Start a new thread")
    _mark_page(page)

    page.get_by_label("Title").press_sequentially(QUESTION, delay=20)

    suggestions = page.locator("section#suggestions")
    expect(suggestions).to_have_attribute("aria-live", "polite")
    expect(suggestions.get_by_role("heading", name="Asked before?")).to_be_visible()
    reference = suggestions.get_by_role("link", name=REFERENCE_THREAD["title"])
    expect(reference).to_be_visible()
    assert _same_page(page), "the suggestions came by a reload, not htmx"
    _assert_no_violations(page)

    page.get_by_label("Your message").fill("My surgeon mentioned radiotherapy. What else?")
    page.get_by_role("button", name="Post thread").click()

    thread = Thread.objects.get(title=QUESTION)
    expect(page).to_have_url(re.compile(rf"/t/{thread.pk}/$"))
    expect(page.locator("h1")).to_have_text(QUESTION)
    expect(page.locator(".messages")).to_contain_text("Your thread is posted.")
    expect(page.get_by_role("button", name="Unfollow thread")).to_have_attribute(
        "aria-pressed", "true"
    )  # the author follows her thread from the start


def test_a_field_left_with_a_problem_says_so_at_once(page: Page, live_url: str, demo: None):
    sign_in(page.context, _member("Bonnie52"), url=live_url)
    page.goto(f"{NURSES}new/")
    _mark_page(page)

    page.get_by_label("Title").fill("Hi")
    page.get_by_label("Your message").focus()  # leaving the title

    title = page.get_by_label("Title")
    expect(title).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#id_title-error")).to_contain_text("at least 5 characters")
    expect(page.get_by_label("Your message")).to_be_focused()  # she is where she went
    _assert_no_violations(page)
    title.fill("Scans after treatment")
    page.get_by_label("Your message").focus()
    expect(page.locator("#id_title-error")).to_have_count(0)
    expect(page.get_by_label("Title")).not_to_have_attribute("aria-invalid", "true")
    assert _same_page(page)
    assert not Thread.objects.filter(title="Scans after treatment").exists()


def test_follow_reply_like_and_edit_in_place(page: Page, live_url: str, demo: None):
    thread = _open_thread()
    opening = _opening_post(thread)
    sign_in(page.context, _member("Sparrowhawk"), url=live_url)
    page.goto(f"/t/{thread.pk}/")
    _mark_page(page)

    follow = page.get_by_role("button", name="Follow thread")
    expect(follow).to_have_attribute("aria-pressed", "false")
    follow.click()
    unfollow = page.get_by_role("button", name="Unfollow thread")
    expect(unfollow).to_have_attribute("aria-pressed", "true")
    expect(unfollow).to_be_focused()  # the swap keeps her place

    post = page.locator(f"#post-{opening.pk}")
    post.get_by_role("button", name="Like", exact=True).click()
    unlike = post.get_by_role("button", name="Unlike")
    expect(unlike).to_have_attribute("aria-pressed", "true")
    expect(post.locator(".likes")).to_have_text("1 like")
    unlike.click()
    expect(post.get_by_role("button", name="Like", exact=True)).to_have_attribute(
        "aria-pressed", "false"
    )
    expect(post.locator(".likes")).to_have_text("0 likes")
    assert _same_page(page), "liking or following reloaded the page"
    assert Post.objects.get(pk=opening.pk).like_count == 0

    page.get_by_label("Your reply").fill("Naps after lunch helped me a lot.")
    page.get_by_role("button", name="Post reply").click()

    reply = Post.objects.get(body="Naps after lunch helped me a lot.")
    expect(page).to_have_url(re.compile(rf"/t/{thread.pk}/(\?cursor=[^#]*)?#post-{reply.pk}$"))
    expect(page.locator(".messages")).to_contain_text("Your reply is posted.")
    mine = page.locator(f"#post-{reply.pk}")
    expect(mine).to_contain_text("Naps after lunch helped me a lot.")
    expect(mine.get_by_role("button", name="Like", exact=True)).to_have_count(0)  # her own

    mine.get_by_role("link", name="Edit").click()
    expect(page.locator("h1")).to_have_text("Edit your post")
    _assert_no_violations(page)
    page.get_by_label("Your message").fill("Naps after lunch, and short walks, helped me.")
    page.get_by_role("button", name="Save changes").click()

    expect(page.locator(".messages")).to_contain_text("Your changes are saved.")
    expect(page.locator(f"#post-{reply.pk}")).to_contain_text("and short walks")
    expect(page.locator(f"#post-{reply.pk} .edited")).to_have_text("(edited)")


def test_notifications_link_to_their_posts_and_mark_read(page: Page, live_url: str, demo: None):
    sparrowhawk = _member("Sparrowhawk")
    thread = Thread.objects.get(title=REFERENCE_THREAD["title"])
    newest = post_create(author=_member("Bonnie52"), thread=_open_thread(), body="New reply")
    assert not Notification.objects.filter(recipient=sparrowhawk, post=newest).exists()
    sign_in(page.context, sparrowhawk, url=live_url)
    unread = Notification.objects.filter(recipient=sparrowhawk, read_at__isnull=True).count()
    assert unread > 0

    page.goto("/")
    page.get_by_role("link", name=re.compile(r"^Notifications")).click()
    expect(page.locator("h1")).to_have_text("Notifications")
    expect(page.locator("li.notification-unread")).to_have_count(unread)
    expect(page.locator("li.notification-unread").first).to_contain_text("Unread")
    _assert_no_violations(page)

    first = page.locator("li.notification a").first
    href = first.get_attribute("href") or ""
    assert re.fullmatch(r"/p/\d+/", href)
    post_id = int(href.split("/")[2])
    first.click()
    expect(page).to_have_url(re.compile(rf"/t/{thread.pk}/(\?cursor=[^#]*)?#post-{post_id}$"))
    expect(page.locator(f"#post-{post_id}")).to_be_visible()

    page.goto("/notifications/")
    page.get_by_role("button", name="Mark all as read").click()
    expect(page.locator(".messages")).to_contain_text("marked as read")
    expect(page.locator("li.notification-unread")).to_have_count(0)
    expect(page.get_by_role("banner")).to_contain_text("(0 unread)")


def test_search_finds_the_reference_thread(page: Page, demo: None):
    page.goto("/")
    page.get_by_role("link", name="Search").click()
    expect(page.locator("h1")).to_have_text("Search")
    _assert_no_violations(page)
    page.get_by_label("Search Haven").fill("local recurrence")
    page.get_by_role("button", name="Search").click()

    expect(page).to_have_url(re.compile(r"/search/\?q=local\+recurrence$"))
    result = page.get_by_role("link", name=REFERENCE_THREAD["title"])
    expect(result).to_be_visible()
    _assert_no_violations(page)
    result.click()
    expect(page.locator("h1")).to_have_text(REFERENCE_THREAD["title"])


def test_ask_and_reply_with_the_keyboard_only(page: Page, live_url: str, demo: None):
    sign_in(page.context, _member("Bonnie52"), url=live_url)
    page.goto(f"{NURSES}new/")

    def tab_to(name: str) -> None:
        target = page.get_by_role("textbox", name=name).or_(
            page.get_by_role("button", name=name, exact=True)
        )
        for _ in range(40):
            page.keyboard.press("Tab")
            if target.evaluate("element => element === document.activeElement"):
                return
        pytest.fail(f"{name} is never reached with Tab.")

    tab_to("Title")
    page.keyboard.type("Keyboard question about scans")
    tab_to("Your message")
    page.keyboard.type("Typed without a mouse.")
    tab_to("Post thread")
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_have_text("Keyboard question about scans")

    tab_to("Your reply")
    page.keyboard.type("And a reply, by keyboard too.")
    tab_to("Post reply")
    page.keyboard.press("Enter")
    expect(page.locator(".messages")).to_contain_text("Your reply is posted.")
    expect(page.locator("article.post").last).to_contain_text("And a reply, by keyboard too.")


# --- Without JavaScript -----------------------------------------------------------------------


def test_ask_reply_and_like_with_javascript_off(no_js_page: Page, live_url: str, demo: None):
    page = no_js_page
    sign_in(page.context, _member("Sparrowhawk"), url=live_url)
    page.goto(f"{NURSES}new/")
    page.get_by_label("Title").fill(QUESTION)
    page.get_by_role("button", name="Check for similar threads").click()

    suggestions = page.locator("section#suggestions")
    expect(suggestions.get_by_role("link", name=REFERENCE_THREAD["title"])).to_be_visible()
    expect(page.get_by_label("Title")).to_have_value(QUESTION)
    assert not Thread.objects.filter(title=QUESTION).exists()
    page.get_by_label("Your message").fill("Asked without JavaScript.")
    page.get_by_role("button", name="Post thread").click()
    expect(page.locator("h1")).to_have_text(QUESTION)

    thread = _open_thread()
    opening = _opening_post(thread)
    page.goto(f"/t/{thread.pk}/")
    page.get_by_label("Your reply").fill("A reply without JavaScript.")
    page.get_by_role("button", name="Post reply").click()
    expect(page.locator(".messages")).to_contain_text("Your reply is posted.")
    expect(page.get_by_text("A reply without JavaScript.")).to_be_visible()

    page.goto(f"/t/{thread.pk}/")
    post = page.locator(f"#post-{opening.pk}")
    post.get_by_role("button", name="Like", exact=True).click()
    expect(page).to_have_url(re.compile(rf"#post-{opening.pk}$"))
    post = page.locator(f"#post-{opening.pk}")
    expect(post.get_by_role("button", name="Unlike")).to_have_attribute("aria-pressed", "true")
    expect(post.locator(".likes")).to_have_text("1 like")
    post.get_by_role("button", name="Unlike").click()
    expect(page.locator(f"#post-{opening.pk} .likes")).to_have_text("0 likes")


# --- axe-core on every page these pages add ---------------------------------------------------


@pytest.mark.parametrize(
    "which",
    [
        "new_thread",
        "new_thread_errors",
        "reply_errors",
        "thread_signed_in",
        "delete",
        "edit_refused",
        "search_empty",
        "suggest",
        "notifications_empty",
    ],
)
def test_axe_finds_no_serious_or_critical_violation(
    page: Page, live_url: str, demo: None, which: str
):
    sparrowhawk = _member("Sparrowhawk")
    sign_in(page.context, sparrowhawk, url=live_url)
    thread = _open_thread()
    reference = Thread.objects.get(title=REFERENCE_THREAD["title"])
    if which == "new_thread":
        page.goto(f"{NURSES}new/")
    elif which == "new_thread_errors":
        page.goto(f"{NURSES}new/")
        page.get_by_label("Title").fill("Hi")
        page.get_by_role("button", name="Post thread").click()
        expect(page.locator(".error-summary")).to_be_visible()
        expect(page.get_by_label("Your message")).to_have_attribute("aria-invalid", "true")
    elif which == "reply_errors":
        page.goto(f"/t/{thread.pk}/")
        page.get_by_role("button", name="Post reply").click()
        expect(page.locator("h1")).to_contain_text("Reply to")
        expect(page.locator(".error-summary")).to_be_visible()
    elif which == "thread_signed_in":  # follow, like buttons, Edit/Delete links, reply box
        post_create(author=sparrowhawk, thread=thread, body="My own reply.")
        page.goto(f"/t/{thread.pk}/")
        expect(page.get_by_role("link", name="Edit")).to_have_count(1)
    elif which == "delete":
        mine = post_create(author=sparrowhawk, thread=thread, body="To delete.")
        page.goto(f"/p/{mine.pk}/delete/")
        expect(page.get_by_role("button", name="Delete post")).to_be_visible()
    elif which == "edit_refused":  # past the window: the reason, no form
        old = reference.posts.filter(author=sparrowhawk).first()
        assert old is not None
        page.goto(f"/p/{old.pk}/edit/")
        expect(page.locator("h1")).to_have_text("This post cannot be edited")
        expect(page.locator("textarea")).to_have_count(0)
    elif which == "search_empty":
        page.goto("/search/?q=zebra")
        expect(page.get_by_text("Nothing matches")).to_be_visible()
    elif which == "suggest":
        page.goto("/suggest/?title=local+recurrence")
    else:
        Notification.objects.filter(recipient=sparrowhawk).delete()
        page.goto("/notifications/")
        expect(page.get_by_text("You have no notifications yet.")).to_be_visible()
    expect(page.locator("main#main")).to_have_count(1)
    expect(page.locator("h1")).to_have_count(1)

    _assert_no_violations(page)
