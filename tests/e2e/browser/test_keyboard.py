"""Keyboard only: a member asks a question, replies in a thread and likes a post without a
mouse.

Nothing is clicked or filled: only Tab, typing, Enter and Space, as someone who cannot use
a pointer works. At every Tab stop the focused element must show a visible outline, and the
skip link is the first stop on each page.
"""

import re

from playwright.sync_api import Page, expect

from accounts.models import User
from accounts.services import user_create
from forum import demo
from forum.models import Category, Post, Thread
from forum.services import category_ensure, thread_create
from tests.e2e.browser.helpers import assert_focus_visible, sign_in, tab_to

QUESTION_TITLE = "Hormone therapy after a local recurrence"
QUESTION_BODY = "Which hormone treatments are usually offered after a second lumpectomy?"
REPLY_BODY = "Thank you, that helps me prepare my questions for the oncologist."
OTHER_TITLE = "Herceptin for a second time"


def _member_and_a_thread_to_reply_to() -> tuple[User, Thread]:
    nurses = next(c for c in demo.CATEGORIES if c["slug"] == "ask-our-nurses")
    category, _ = category_ensure(position=0, **nurses)
    sparrowhawk, bonnie = (
        user_create(
            email=f"{name.lower()}@haven.example",
            display_name=name,
            password="a long and private passphrase",
            verified=True,
        )
        for name in ("Sparrowhawk", "Bonnie52")
    )
    thread = thread_create(
        author=bonnie,
        category=category,
        title=OTHER_TITLE,
        body="I am offered herceptin again. Has anyone had it twice?",
    )
    return sparrowhawk, thread


def _first_tab_is_the_skip_link(page: Page) -> None:
    """On a page just opened, the first Tab stop is "Skip to main content", visibly."""
    page.wait_for_load_state()
    page.keyboard.press("Tab")
    skip = page.locator("a.skip-link")
    expect(skip).to_be_focused()
    expect(skip).to_be_visible()
    assert_focus_visible(page)


def test_a_member_asks_and_replies_with_the_keyboard_alone(page: Page, live_url: str):
    sparrowhawk, other_thread = _member_and_a_thread_to_reply_to()
    sign_in(page.context, sparrowhawk, url=live_url)
    category = Category.objects.get(slug="ask-our-nurses")

    # From the category page, Tab to "Start a new thread" and open it with Enter.
    page.goto(f"/c/{category.slug}/")
    _first_tab_is_the_skip_link(page)
    tab_to(page, page.get_by_role("link", name="Start a new thread"))
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"/c/{category.slug}/new/$"))

    # Title, then the message, then "Post thread" (pressed with Space), by Tab alone.
    _first_tab_is_the_skip_link(page)
    tab_to(page, page.get_by_label("Title", exact=True))
    page.keyboard.type(QUESTION_TITLE)
    tab_to(page, page.get_by_label("Your message", exact=True))
    page.keyboard.type(QUESTION_BODY)
    tab_to(page, page.get_by_role("button", name="Post thread"))
    page.keyboard.press("Space")

    expect(page.locator("h1")).to_have_text(QUESTION_TITLE)
    question = Thread.objects.get(title=QUESTION_TITLE)
    expect(page).to_have_url(re.compile(rf"/t/{question.pk}/(?:[?#].*)?$"))
    expect(page.locator("article.post").first).to_contain_text(QUESTION_BODY)

    # Back in the category, Tab to Bonnie52's thread, open it and reply (Enter submits).
    page.goto(f"/c/{category.slug}/")
    _first_tab_is_the_skip_link(page)
    tab_to(page, page.get_by_role("link", name=OTHER_TITLE))
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_have_text(OTHER_TITLE)
    _first_tab_is_the_skip_link(page)
    tab_to(page, page.get_by_label("Your reply", exact=True))
    page.keyboard.type(REPLY_BODY)
    tab_to(page, page.get_by_role("button", name="Post reply"))
    page.keyboard.press("Enter")

    expect(page.locator("article.post").filter(has_text=REPLY_BODY)).to_have_count(1)
    assert Post.objects.filter(thread=other_thread, author=sparrowhawk, body=REPLY_BODY).exists()

    # Back up with Shift+Tab (the page opened at her reply) to Bonnie52's question and like
    # it with Space: the toggle flips in place and keeps the focus.
    opening = other_thread.posts.get(author=other_thread.author)
    article = page.locator(f"article#post-{opening.pk}")
    tab_to(page, article.get_by_role("button", name="Like", exact=True), backwards=True)
    page.keyboard.press("Space")
    unlike = article.get_by_role("button", name="Unlike", exact=True)
    expect(unlike).to_have_attribute("aria-pressed", "true")
    expect(unlike).to_be_focused()
    assert_focus_visible(page)
