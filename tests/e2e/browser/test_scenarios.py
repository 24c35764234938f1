"""The stories of Step 6 lived in Chromium, one browser profile per person, through the pages
only (the test reads the database to know ids and to check an outcome, never to act).

1. The reference thread: Sparrowhawk joins, verifies her email from the message Haven sent,
   signs in and asks in Ask Our Nurses (an older thread is suggested as she types the
   title); Bonnie52 replies; Sparrowhawk likes the reply; the nurse answers with two
   signposts after checking the preview, and closes the thread; nobody can reply any more,
   and no page any of them saw names the nurse.
2. A member reports a post for safeguarding and is shown crisis support (so is the post's
   author, under her post, and nobody else); a moderator resolves the report from the
   review queue. A new member's first post is held and an anonymous reader sees it only
   once a moderator approves it; its author is told. Members never see the moderator's name.

Every distinct page on the way is checked by axe-core (0 serious or critical violations).
"""

import re
from collections.abc import Callable, Iterator

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from playwright.sync_api import Browser, Page, expect

from accounts.models import User
from accounts.roles import Role
from accounts.services import user_create
from forum import demo
from forum.models import Category, Post, Thread
from forum.services import category_ensure, post_create, thread_create
from moderation import demo as moderation_demo
from moderation.models import ReviewItem
from tests.e2e.browser.conftest import _new_context, _save_artifacts
from tests.e2e.browser.helpers import Tour, link_in_email, sign_in

REFERENCE = demo.REFERENCE_THREAD
# The nurse's own name and address, as a real nurse's would be: never on any page.
NURSE_NAME, NURSE_SURNAME = "Helen Ashworth", "Ashworth"
NURSE_EMAIL = "helen.ashworth@haven.example"
NURSE_TITLE = "Breast Care Nurse"
PASSWORD = "a long and private passphrase"
SIGNPOSTS = {"Someone Like Me": "0114 263 6490", "Helpline": "0808 800 6000"}  # name: phone
OLDER_TITLE = "Local recurrence after a mastectomy: what treatment next?"

OpenTab = Callable[..., Page]


@pytest.fixture
def open_tab(browser: Browser, live_url: str, request: pytest.FixtureRequest) -> Iterator[OpenTab]:
    """Another person's browser: ``open_tab("bonnie", user)`` is a new profile signed in as
    ``user`` (``None``: a visitor), with one tab; like ``page``, each keeps a screenshot and
    its HTML (suffixed with the name) when the test fails."""
    opened: list[tuple[str, Page]] = []

    def open_(who: str, user: User | None = None) -> Page:
        context = _new_context(browser, live_url)
        if user is not None:
            sign_in(context, user, url=live_url)
        tab = context.new_page()
        opened.append((who, tab))
        return tab

    yield open_
    for who, tab in opened:
        _save_artifacts(request, tab, f"-{who}")
        tab.context.close()


def _community_without_the_reference_thread() -> dict[str, User]:
    """The demo's categories and signposting, Bonnie52 and a nurse (under her real name,
    published as "Breast Care Nurse") — but not the demo's Sparrowhawk nor its reference
    thread: here Sparrowhawk joins and asks it herself.

    An older thread on the same subject (by Bonnie52, in Recurrence) is what "Asked
    before?" should suggest while Sparrowhawk types her title.
    """
    for position, spec in enumerate(demo.CATEGORIES):
        category_ensure(position=position * 10, **spec)
    moderation_demo.install()  # the signposting templates and services the nurse chooses
    bonnie = user_create(
        email="bonnie52@haven.example", display_name="Bonnie52", password=PASSWORD, verified=True
    )
    nurse = user_create(
        email=NURSE_EMAIL,
        display_name=NURSE_NAME,
        password=PASSWORD,
        role=Role.NURSE,
        verified=True,
        is_staff=True,
        sign_off="Best wishes,\nBreast Care Nurse",
    )
    assert nurse.public_title == NURSE_TITLE
    thread_create(
        author=bonnie,
        category=Category.objects.get(slug="recurrence"),
        title=OLDER_TITLE,
        body="Mine came back in the scar a year after radiotherapy. What were you offered?",
    )
    return {"bonnie": bonnie, "nurse": nurse}


def _sign_in_by_page(tab: Page, *, email: str) -> None:
    """On the sign-in page: Email, Password, "Sign in"; wait until signed in (the page she
    lands on, with its greeting, is what she sees next)."""
    tab.get_by_label("Email", exact=True).fill(email)
    tab.get_by_label("Password", exact=True).fill(PASSWORD)
    tab.get_by_role("button", name="Sign in").click()
    expect(tab.get_by_role("button", name="Sign out")).to_be_visible()


def _close_thread(tab: Page, tour: Tour) -> None:
    """Close the thread shown in ``tab``: "Close thread" (a link to the form, or a button
    that opens it), an optional "Closing note", then the form's "Close thread" button."""
    opener = tab.get_by_role("link", name="Close thread")
    if opener.count() == 0:
        opener = tab.get_by_role("button", name="Close thread")
    opener.first.click()
    expect(tab.get_by_label("Closing note")).to_be_visible()
    tour.saw(tab, who="nurse", name="close thread")
    tab.get_by_role("button", name="Close thread").click()


def _thread_page(thread: Thread) -> re.Pattern[str]:
    """The thread's own page (a cursor or a post's anchor may follow), not a staff page."""
    return re.compile(rf"^https?://[^/]+/t/{thread.pk}/(?:[?#].*)?$")


def _first_line(text: str) -> str:
    return text.split("\n", 1)[0].strip()


def test_the_reference_thread_as_its_people_live_it(page: Page, open_tab: OpenTab):
    """Sparrowhawk uses her own name and address (sparrowhawk@haven.example): the community
    is built without the demo's Sparrowhawk and reference thread, so she can join as
    herself and ask the reference question; the texts are the reference scenario's."""
    cast = _community_without_the_reference_thread()
    tour = Tour()
    opening, reply = REFERENCE["posts"][0], REFERENCE["posts"][1]
    answer = REFERENCE["nurse_answer"]
    email = "sparrowhawk@haven.example"

    # Sparrowhawk joins Haven.
    page.goto("/")
    tour.saw(page, who="Sparrowhawk", name="home, signed out")
    page.get_by_role("link", name="Join Haven").click()
    expect(page).to_have_url(re.compile(r"/account/signup/"))
    tour.saw(page, who="Sparrowhawk", name="sign up")
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Display name", exact=True).fill("Sparrowhawk")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Join Haven").click()
    page.wait_for_url(lambda url: "/account/signup/" not in url)
    tour.saw(page, who="Sparrowhawk", name="verification sent")
    sparrowhawk = User.objects.get(email=email)
    assert sparrowhawk.display_name == "Sparrowhawk"

    # She opens the link in the email Haven sent her (wherever under /account/ it points:
    # the page must exist), and confirms the address.
    response = page.goto(link_in_email(to=email, path_contains="/account/"))
    assert response is not None and response.ok, f"the email's link is {page.url}"
    tour.saw(page, who="Sparrowhawk", name="confirm email")
    confirm_url = page.url
    page.get_by_role("button", name=re.compile(r"^Confirm", re.IGNORECASE)).click()
    page.wait_for_url(lambda url: url != confirm_url)
    assert EmailAddress.objects.get(user=sparrowhawk, email=email).verified

    # She signs in.
    if not re.search(r"/account/login/", page.url):
        page.goto("/account/login/")
    tour.saw(page, who="Sparrowhawk", name="sign in")
    _sign_in_by_page(page, email=email)
    tour.saw(page, who="Sparrowhawk", name="signed in")

    # She asks in Ask Our Nurses; an older thread is suggested while she types the title.
    page.goto("/")
    tour.saw(page, who="Sparrowhawk", name="home, signed in")
    page.get_by_role("link", name="Ask Our Nurses").click()
    expect(page).to_have_url(re.compile(r"/c/ask-our-nurses/$"))
    tour.saw(page, who="Sparrowhawk", name="category")
    page.get_by_role("link", name="Start a new thread").click()
    expect(page).to_have_url(re.compile(r"/c/ask-our-nurses/new/$"))
    tour.saw(page, who="Sparrowhawk", name="new thread")
    page.get_by_label("Title", exact=True).press_sequentially(REFERENCE["title"], delay=15)
    suggestions = page.locator("section#suggestions")
    expect(suggestions).to_have_attribute("aria-live", "polite")
    expect(suggestions.get_by_role("heading", name="Asked before?")).to_be_visible()
    expect(suggestions.get_by_role("link", name=OLDER_TITLE)).to_be_visible()
    tour.saw(page, who="Sparrowhawk", name="new thread, with suggestions")
    page.get_by_label("Your message", exact=True).fill(opening["body"])
    page.get_by_role("button", name="Post thread").click()

    expect(page.locator("h1")).to_have_text(REFERENCE["title"])
    thread = Thread.objects.get(title=REFERENCE["title"], author=sparrowhawk)
    expect(page).to_have_url(_thread_page(thread))
    expect(page.locator("article.post").first).to_contain_text(_first_line(opening["body"]))
    tour.saw(page, who="Sparrowhawk", name="thread, her own question")

    # Bonnie52 replies, in her own browser.
    bonnie_tab = open_tab("bonnie", cast["bonnie"])
    bonnie_tab.goto(f"/t/{thread.pk}/")
    tour.saw(bonnie_tab, who="Bonnie52", name="thread, another's question")
    bonnie_tab.get_by_label("Your reply", exact=True).fill(reply["body"])
    bonnie_tab.get_by_role("button", name="Post reply").click()
    expect(
        bonnie_tab.locator("article.post").filter(has_text=_first_line(reply["body"]))
    ).to_have_count(1)
    bonnie_post = Post.objects.get(thread=thread, author=cast["bonnie"])
    tour.saw(bonnie_tab, who="Bonnie52", name="thread, after replying")

    # Sparrowhawk likes the reply: 0 likes, then 1.
    page.reload()
    reply_article = page.locator(f"article#post-{bonnie_post.pk}")
    expect(reply_article).to_contain_text(_first_line(reply["body"]))
    expect(reply_article.locator(".likes")).to_have_text(re.compile(r"^\s*0 likes\s*$"))
    like = reply_article.get_by_role("button", name="Like", exact=True)
    expect(like).to_have_attribute("aria-pressed", "false")
    like.click()
    unlike = reply_article.get_by_role("button", name="Unlike", exact=True)
    expect(unlike).to_have_attribute("aria-pressed", "true")
    expect(reply_article.locator(".likes")).to_have_text(re.compile(r"^\s*1 like\s*$"))
    tour.saw(page, who="Sparrowhawk", name="thread, after liking")
    page.reload()  # what the server now says, not only what htmx swapped in
    expect(reply_article.locator(".likes")).to_have_text(re.compile(r"^\s*1 like\s*$"))
    bonnie_post.refresh_from_db()
    assert bonnie_post.like_count == 1

    # The nurse signs in, finds the question, previews her answer with two signposts,
    # publishes it and closes the thread.
    nurse_tab = open_tab("nurse")
    nurse_tab.goto("/account/login/")
    _sign_in_by_page(nurse_tab, email=NURSE_EMAIL)
    tour.saw(nurse_tab, who="nurse", name="home, signed in as a nurse")
    nurse_tab.get_by_role("link", name="Nurse questions").click()
    expect(nurse_tab).to_have_url(re.compile(r"/staff/questions/"))
    tour.saw(nurse_tab, who="nurse", name="nurse questions")
    nurse_tab.get_by_role("link", name=REFERENCE["title"]).first.click()
    nurse_tab.wait_for_url(lambda url: "/staff/questions/" not in url)
    if nurse_tab.get_by_label("Your answer", exact=True).count() == 0:  # the thread first
        tour.saw(nurse_tab, who="nurse", name="thread, as a nurse")
        nurse_tab.get_by_role("link", name="Answer as nurse").click()
    expect(nurse_tab.get_by_label("Your answer", exact=True)).to_be_visible()
    tour.saw(nurse_tab, who="nurse", name="nurse answer")
    nurse_tab.get_by_label("Your answer", exact=True).fill(answer["body"])
    signposts = nurse_tab.get_by_role("group", name="Signposts")
    for name in SIGNPOSTS:
        signposts.get_by_label(name, exact=True).check()
    close_box = nurse_tab.get_by_role("checkbox", name=re.compile(r"close", re.IGNORECASE))
    closes_with_answer = close_box.count() == 1
    if closes_with_answer:
        close_box.check()
    nurse_tab.get_by_role("button", name="Preview").click()
    preview = nurse_tab.get_by_role("region", name="Preview")
    expect(preview).to_contain_text(_first_line(answer["body"]))
    for phone in SIGNPOSTS.values():
        expect(preview).to_contain_text(phone)
    expect(preview).to_contain_text(NURSE_TITLE)
    tour.saw(nurse_tab, who="nurse", name="nurse answer, preview")
    assert not thread.posts.filter(kind=Post.Kind.NURSE_ANSWER).exists()  # a preview only
    nurse_tab.get_by_role("button", name="Publish answer").click()
    expect(nurse_tab).to_have_url(_thread_page(thread))
    if not closes_with_answer:  # closing is its own step: "Close thread", a note, confirm
        _close_thread(nurse_tab, tour)
    nurse_answer = thread.posts.get(kind=Post.Kind.NURSE_ANSWER)
    expect(nurse_tab.locator(f"article#post-{nurse_answer.pk}")).to_contain_text(NURSE_TITLE)
    expect(nurse_tab.locator("p.notice-closed")).to_be_visible()
    expect(nurse_tab.get_by_label("Your reply")).to_have_count(0)  # nobody replies now
    tour.saw(nurse_tab, who="nurse", name="thread, answered and closed, as a nurse")
    thread.refresh_from_db()
    assert thread.status == Thread.Status.CLOSED
    assert thread.nurse_answered_at is not None

    # Sparrowhawk reads the answer: her nurse's title, the two signposts, no reply box.
    for who, tab in (("Sparrowhawk", page), ("Bonnie52", bonnie_tab)):
        tab.reload()
        answer_article = tab.locator(f"article.post.post-nurse#post-{nurse_answer.pk}")
        expect(answer_article).to_contain_text(NURSE_TITLE)
        expect(answer_article).to_contain_text(_first_line(answer["body"]))
        for phone in SIGNPOSTS.values():
            expect(answer_article).to_contain_text(phone)
        expect(tab.locator("p.notice-closed")).to_be_visible()
        expect(tab.get_by_label("Your reply")).to_have_count(0)
        expect(tab.get_by_role("button", name="Post reply")).to_have_count(0)
        tour.saw(tab, who=who, name="thread, answered and closed")

    # Her notifications lead to the answer; they do not name the nurse either.
    page.get_by_role("banner").get_by_role("link", name=re.compile(r"^Notifications")).click()
    expect(page.locator("h1")).to_have_text("Notifications")
    tour.saw(page, who="Sparrowhawk", name="notifications")
    page.locator(f"main a[href='/p/{nurse_answer.pk}/']").first.click()
    expect(page).to_have_url(_thread_page(thread))
    expect(page.locator(f"article#post-{nurse_answer.pk}")).to_be_in_viewport()

    tour.assert_never_shown(NURSE_NAME, NURSE_SURNAME, NURSE_EMAIL)
    emails = [f"{m.subject}\n{m.body}" for m in mail.outbox]
    assert not [e for e in emails if NURSE_NAME in e or NURSE_SURNAME in e], emails
    tour.assert_accessible()


# --- Moderation ------------------------------------------------------------------------

WORRYING_TITLE = "Nobody to talk to at home"
WORRYING_BODY = (
    "I can't face another round of chemo. I've given the cat to my neighbour and written "
    "letters to everyone. I don't think I'll be here much longer."
)


MODERATOR_NAME = "Community Team 1"  # the demo moderator's own name: members never see it


def _moderator() -> User:
    return User.objects.get(email="moderator@haven.example")


def _review_from_the_queue(tab: Page, tour: Tour, *, title: str, decision: str) -> None:
    """The moderator opens the review queue from the header, the item by its title, claims
    it and resolves it with ``decision``."""
    tab.goto("/")
    tab.get_by_role("banner").get_by_role("link", name="Review queue").click()
    expect(tab.locator("h1")).to_have_text("Review queue")
    tour.saw(tab, who="moderator", name="review queue")
    tab.get_by_role("link", name=re.compile(re.escape(title))).first.click()
    expect(tab.get_by_role("button", name="Claim")).to_be_visible()
    tour.saw(tab, who="moderator", name="review item")
    with tab.expect_navigation():  # a plain form: POST, then back to the item
        tab.get_by_role("button", name="Claim").click()
    decisions = tab.get_by_role("group", name="Decision")
    decisions.get_by_label(decision, exact=True).check()
    tour.saw(tab, who="moderator", name="review item, claimed")
    with tab.expect_navigation():
        tab.get_by_role("button", name="Resolve").click()
    expect(tab.get_by_role("status")).to_be_visible()  # the confirmation message
    tour.saw(tab, who="moderator", name="after resolving")


def test_safeguarding_report_shows_crisis_support_and_a_moderator_resolves_it(
    page: Page, open_tab: OpenTab, live_url: str, demo: None
):
    tour = Tour()
    linnet = User.objects.get(display_name="Linnet")
    thread = thread_create(
        author=linnet,
        category=Category.objects.get(slug="living-with-secondary-breast-cancer"),
        title=WORRYING_TITLE,
        body="Does anyone else find the evenings the hardest?",
    )
    worrying = post_create(author=linnet, thread=thread, body=WORRYING_BODY)
    assert worrying.status == Post.Status.VISIBLE  # no watched word: only a reader can tell
    sparrowhawk = User.objects.get(display_name="Sparrowhawk")

    # Sparrowhawk reports the post: someone may be at risk.
    sign_in(page.context, sparrowhawk, url=live_url)
    page.goto(f"/t/{thread.pk}/")
    tour.saw(page, who="Sparrowhawk", name="thread")
    page.locator(f"article#post-{worrying.pk}").get_by_role("link", name="Report").click()
    reasons = page.get_by_role("group", name="Why are you reporting this post?")
    for label in ("Spam", "Inappropriate", "Misinformation", "Something else"):
        expect(reasons.get_by_label(label, exact=True)).to_be_visible()
    tour.saw(page, who="Sparrowhawk", name="report")
    reasons.get_by_label("Someone may be at risk", exact=True).check()
    page.get_by_label("Anything the moderators should know (optional)").fill(
        "She sounds like she is saying goodbye."
    )
    page.get_by_role("button", name="Send report").click()

    # She is shown where to find help at once.
    for words in ("Samaritans", "116 123"):
        expect(page.locator("main").get_by_text(words).first).to_be_visible()
    tour.saw(page, who="Sparrowhawk", name="report sent")
    item = ReviewItem.objects.get(post=worrying)
    assert item.urgent and item.status == ReviewItem.Status.PENDING

    # Linnet, who wrote it, finds the same support under her post; nobody else sees it there.
    linnet_tab = open_tab("linnet", linnet)
    linnet_tab.goto(f"/t/{thread.pk}/")
    expect(linnet_tab.locator(f"article#post-{worrying.pk} aside.support")).to_contain_text(
        "116 123"
    )
    tour.saw(linnet_tab, who="Linnet", name="thread, her post with crisis support")
    page.goto(f"/t/{thread.pk}/")
    expect(page.locator(f"article#post-{worrying.pk}")).to_be_visible()
    expect(page.locator(f"article#post-{worrying.pk} aside.support")).to_have_count(0)

    # A moderator resolves it from the queue: the post stays up, the report is closed.
    moderator_tab = open_tab("moderator", _moderator())
    _review_from_the_queue(moderator_tab, tour, title=WORRYING_TITLE, decision="Approve")
    item.refresh_from_db()
    assert item.status == ReviewItem.Status.APPROVED
    assert item.resolved_by == _moderator()
    assert not item.flags.filter(is_open=True).exists()
    moderator_tab.goto("/staff/queue/")
    still_listed = moderator_tab.get_by_role("link", name=re.compile(re.escape(WORRYING_TITLE)))
    expect(still_listed).to_have_count(0)
    worrying.refresh_from_db()
    assert worrying.status == Post.Status.VISIBLE

    tour.assert_never_shown(MODERATOR_NAME, to={"Sparrowhawk", "Linnet"})
    tour.assert_accessible()


HELD_TITLE = "First time here: my scan is next week"
HELD_BODY = "I was told it has come back near the scar. How did you all cope with the wait?"


def test_a_new_members_first_post_is_shown_only_after_approval(
    page: Page, open_tab: OpenTab, live_url: str, demo: None, settings
):
    """``HAVEN_NEW_MEMBER_HOLD_POSTS`` is read when a post is written, by the live server's
    thread in this same process: the ``settings`` fixture changes it there too (the
    thread's status proves the server saw it)."""
    settings.HAVEN_NEW_MEMBER_HOLD_POSTS = 1
    tour = Tour()
    fern = user_create(
        email="fern@haven.example", display_name="Fernlight", password=PASSWORD, verified=True
    )
    sign_in(page.context, fern, url=live_url)

    # Fernlight, new, starts a thread: it is held, and she is told so.
    page.goto("/c/recurrence/")
    page.get_by_role("link", name="Start a new thread").click()
    page.get_by_label("Title", exact=True).fill(HELD_TITLE)
    page.get_by_label("Your message", exact=True).fill(HELD_BODY)
    page.get_by_role("button", name="Post thread").click()
    expect(page.locator("h1")).to_have_text(HELD_TITLE)
    thread = Thread.objects.get(title=HELD_TITLE)
    assert thread.visibility == Thread.Visibility.PENDING
    expect(page.locator("main")).to_contain_text(re.compile("awaiting review", re.IGNORECASE))
    tour.saw(page, who="Fernlight", name="thread, held, as its author")

    # An anonymous reader sees nothing of it.
    reader = open_tab("reader")
    reader.goto("/c/recurrence/")
    expect(reader.locator("h1")).to_have_text("Recurrence")
    expect(reader.get_by_role("link", name=HELD_TITLE)).to_have_count(0)
    response = reader.goto(f"/t/{thread.pk}/")
    assert response is not None and response.status == 404

    # A moderator approves it from the queue.
    moderator_tab = open_tab("moderator", _moderator())
    _review_from_the_queue(moderator_tab, tour, title=HELD_TITLE, decision="Approve")
    thread.refresh_from_db()
    assert thread.visibility == Thread.Visibility.VISIBLE

    # Now the reader finds it in the category and reads it.
    reader.goto("/c/recurrence/")
    reader.get_by_role("link", name=HELD_TITLE).click()
    expect(reader.locator("h1")).to_have_text(HELD_TITLE)
    expect(reader.locator("article.post").first).to_contain_text(HELD_BODY)
    expect(reader.locator("main")).not_to_contain_text(re.compile("awaiting review", re.IGNORECASE))
    tour.saw(reader, who="reader", name="thread, approved")

    # Fernlight sees it published, and is told in her notifications.
    page.reload()
    expect(page.locator("h1")).to_have_text(HELD_TITLE)
    expect(page.locator("main")).not_to_contain_text(re.compile("awaiting review", re.IGNORECASE))
    page.get_by_role("banner").get_by_role("link", name=re.compile(r"^Notifications")).click()
    expect(page.locator("h1")).to_have_text("Notifications")
    opening = thread.posts.get()
    expect(page.locator(f"main a[href='/p/{opening.pk}/']")).not_to_have_count(0)
    tour.saw(page, who="Fernlight", name="notifications, post approved")

    assert settings.HAVEN_NEW_MEMBER_HOLD_POSTS == 1
    tour.assert_never_shown(MODERATOR_NAME, to={"Fernlight", "reader"})
    tour.assert_accessible()
