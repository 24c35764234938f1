"""The account pages in Chromium, as people use them: join and verify from the emailed link,
sign in and out, reset and change a password, settings, download my data, erase my
account; every page (and its form with errors) checked by axe-core.

The live server runs in this process, so the emails it sends land in Django's locmem
outbox (``mail.outbox``), where the test reads the links a member would click.
"""

import json
import re
from urllib.parse import urlsplit

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from playwright.sync_api import Page, expect

from accounts.models import User
from forum.models import Post
from tests.e2e.browser.helpers import axe_violations, describe, sign_in
from tests.factories import PASSWORD, UserFactory, make_thread
from tests.utils import wait_until

NEW_PASSWORD = "quiet-harbour-lights-77"


def _emailed_link(fragment: str) -> str:
    """The path of the link containing ``fragment`` in the newest email (waits for it)."""
    assert wait_until(lambda: any(fragment in message.body for message in mail.outbox), 10)
    message = [message for message in mail.outbox if fragment in message.body][-1]
    [link] = [url for url in re.findall(r"https?://\S+", message.body) if fragment in url]
    return urlsplit(link).path


def _main(page: Page):
    return page.locator("main#main")


def _expect_frame(page: Page, heading: str) -> None:
    expect(page.locator("h1")).to_have_count(1)
    expect(page.locator("h1")).to_have_text(heading)
    expect(page).to_have_title(re.compile(rf"^{re.escape(heading)} — Haven$"))
    expect(page.locator("a.skip-link")).to_have_attribute("href", "#main")


def _sign_in_on_the_page(page: Page, email: str, password: str) -> None:
    page.goto("/account/login/")
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    _main(page).get_by_role("button", name="Sign in").click()


def test_join_verify_sign_in_change_settings_and_sign_out(page: Page, live_url: str):
    page.goto("/")
    page.get_by_role("banner").get_by_role("link", name="Join Haven").click()
    _expect_frame(page, "Join Haven")
    page.get_by_label("Email", exact=True).fill("sparrow@haven.test")
    page.get_by_label("Display name").fill("Sparrowhawk")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Join Haven").click()

    _expect_frame(page, "Check your email")
    user = User.objects.get(email="sparrow@haven.test")
    assert user.display_name == "Sparrowhawk"
    page.goto(_emailed_link("/account/confirm-email/"))
    _expect_frame(page, "Confirm your email address")
    expect(_main(page)).to_contain_text("sparrow@haven.test")
    assert not EmailAddress.objects.get(user=user).verified
    page.get_by_role("button", name="Confirm").click()

    expect(page).to_have_url(re.compile(r"/account/login/$"))
    assert EmailAddress.objects.get(user=user).verified
    page.get_by_label("Email", exact=True).fill("sparrow@haven.test")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    _main(page).get_by_role("button", name="Sign in").click()

    expect(page).to_have_url(re.compile(r"/$"))
    page.get_by_role("banner").get_by_role("link", name="Settings").click()
    _expect_frame(page, "Settings")
    expect(page.get_by_label("Display name")).to_have_value("Sparrowhawk")
    page.get_by_label("Display name").fill("Sparrow Hawk")
    page.get_by_label("Email me when someone replies").uncheck()
    page.get_by_role("button", name="Save settings").click()

    expect(page.locator(".messages[role=status]")).to_contain_text("Your settings are saved.")
    user.refresh_from_db()
    assert (user.display_name, user.email_on_reply) == ("Sparrow Hawk", False)
    expect(page.get_by_label("Email me when someone replies")).not_to_be_checked()

    page.get_by_role("banner").get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_role("banner").get_by_role("link", name="Sign in")).to_be_visible()
    page.goto("/account/settings/")
    expect(page).to_have_url(re.compile(r"/account/login/\?next=/account/settings/$"))


def test_sign_in_errors_are_announced(page: Page, live_url: str):
    user = UserFactory()
    _sign_in_on_the_page(page, user.email, "not-the-password")

    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("not correct")
    expect(page.get_by_role("banner").get_by_role("link", name="Sign in")).to_be_visible()


def test_a_forgotten_password_is_reset_from_the_emailed_link(page: Page, live_url: str):
    user = UserFactory(email="bonnie@haven.test")
    page.goto("/account/login/")
    page.get_by_role("link", name="Forgot your password?").click()
    _expect_frame(page, "Reset your password")
    page.get_by_label("Email", exact=True).fill("bonnie@haven.test")
    page.get_by_role("button", name="Send the link").click()
    _expect_frame(page, "Check your email")

    page.goto(_emailed_link("/account/password/reset/key/"))
    _expect_frame(page, "Choose a new password")
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New password again").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Save new password").click()
    _expect_frame(page, "Password changed")

    _main(page).get_by_role("link", name="Sign in").click()
    page.get_by_label("Email", exact=True).fill("bonnie@haven.test")
    page.get_by_label("Password", exact=True).fill(NEW_PASSWORD)
    _main(page).get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("banner").get_by_role("link", name="Settings")).to_be_visible()
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)


def test_password_change_from_the_settings(page: Page, live_url: str):
    user = UserFactory()
    sign_in(page.context, user, url=live_url)
    page.goto("/account/settings/")
    page.get_by_role("link", name="Change password").click()
    _expect_frame(page, "Change password")
    page.get_by_label("Current password").fill(PASSWORD)
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New password again").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Change password").click()

    expect(page.locator(".messages[role=status]")).to_contain_text("Password successfully changed")
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)


def test_download_my_data(page: Page, live_url: str):
    user = UserFactory()
    make_thread(author=user, title="My first question")
    sign_in(page.context, user, url=live_url)
    page.goto("/account/settings/")
    page.get_by_role("link", name="Download my data").click()
    _expect_frame(page, "Download my data")

    with page.expect_download() as info:
        _main(page).get_by_role("button", name="Download my data").click()
    download = info.value
    assert re.fullmatch(r"haven-export-\d{4}-\d{2}-\d{2}\.json", download.suggested_filename)
    path = download.path()
    assert path is not None
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["profile"]["email"] == user.email
    assert [thread["title"] for thread in data["threads"]] == ["My first question"]


def test_erase_my_account_then_the_email_no_longer_signs_in(page: Page, live_url: str):
    user = UserFactory(email="wren@haven.test", display_name="Wren")
    thread = make_thread(author=user, title="Something I asked")
    sign_in(page.context, user, url=live_url)
    page.goto("/account/settings/")
    page.get_by_role("link", name="Erase my account").click()
    _expect_frame(page, "Erase my account")

    page.get_by_label("Your password").fill("not-my-password")
    page.get_by_role("button", name="Erase my account").click()
    expect(page.get_by_role("alert")).to_contain_text("The password is not correct.")
    expect(page.get_by_label("Your password")).to_have_attribute("aria-invalid", "true")
    user.refresh_from_db()
    assert user.erased_at is None

    page.get_by_label("Your password").fill(PASSWORD)
    page.get_by_label("Also delete my posts").check()
    page.get_by_role("button", name="Erase my account").click()

    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.locator(".messages[role=status]")).to_contain_text("Your account is erased.")
    expect(page.get_by_role("banner").get_by_role("link", name="Sign in")).to_be_visible()
    user.refresh_from_db()
    assert user.erased_at is not None
    assert thread.posts.get().status == Post.Status.DELETED

    _sign_in_on_the_page(page, "wren@haven.test", PASSWORD)
    expect(page.get_by_role("alert")).to_contain_text("not correct")
    expect(page.get_by_role("banner").get_by_role("link", name="Sign in")).to_be_visible()


def test_sign_in_and_settings_work_with_javascript_off(no_js_page: Page, live_url: str):
    page = no_js_page
    user = UserFactory(display_name="Sparrowhawk")
    _sign_in_on_the_page(page, user.email, PASSWORD)
    page.get_by_role("banner").get_by_role("link", name="Settings").click()
    page.get_by_label("Display name").fill("Sparrow")
    page.get_by_role("button", name="Save settings").click()
    expect(page.locator(".messages[role=status]")).to_contain_text("Your settings are saved.")
    page.get_by_role("banner").get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("banner").get_by_role("link", name="Sign in")).to_be_visible()
    user.refresh_from_db()
    assert user.display_name == "Sparrow"


# --- axe-core on every account page, with and without errors -------------------------------


def _submit_empty(page: Page, button: str) -> None:
    """Send the form as it is: the server's errors, not the browser's, are checked."""
    _main(page).get_by_role("button", name=button).click()
    expect(page.get_by_role("alert")).to_be_visible()


SIGNED_OUT = {
    "sign in": ("/account/login/", None),
    "sign in, errors": ("/account/login/", "Sign in"),
    "join": ("/account/signup/", None),
    "join, errors": ("/account/signup/", "Join Haven"),
    "verification sent": ("/account/confirm-email/", None),
    "confirm, bad link": ("/account/confirm-email/not-a-key/", None),
    "reset": ("/account/password/reset/", None),
    "reset, errors": ("/account/password/reset/", "Send the link"),
    "reset sent": ("/account/password/reset/done/", None),
    "reset, bad link": ("/account/password/reset/key/1-not-a-key/", None),
    "reset done": ("/account/password/reset/key/done/", None),
    "closed account": ("/account/inactive/", None),
}

SIGNED_IN = {
    "settings": ("/account/settings/", None),
    "export": ("/account/export/", None),
    "erase": ("/account/erase/", None),
    "erase, errors": ("/account/erase/", "Erase my account"),
    "password change": ("/account/password/change/", None),
    "password change, errors": ("/account/password/change/", "Change password"),
    "sign out": ("/account/logout/", None),
}


def _assert_no_serious_violations(page: Page) -> None:
    expect(page.locator("main#main")).to_have_count(1)
    violations = axe_violations(page)
    assert violations == [], describe(violations)


@pytest.mark.parametrize("which", list(SIGNED_OUT))
def test_axe_on_the_signed_out_account_pages(page: Page, live_url: str, which: str):
    path, submit = SIGNED_OUT[which]
    response = page.goto(path)
    assert response is not None and response.status == 200
    if submit:
        _submit_empty(page, submit)
    _assert_no_serious_violations(page)


@pytest.mark.parametrize("which", list(SIGNED_IN))
def test_axe_on_the_members_account_pages(page: Page, live_url: str, which: str):
    sign_in(page.context, UserFactory(), url=live_url)
    path, submit = SIGNED_IN[which]
    response = page.goto(path)
    assert response is not None and response.status == 200
    if submit:
        _submit_empty(page, submit)
    _assert_no_serious_violations(page)


def test_axe_on_settings_with_errors(page: Page, live_url: str):
    UserFactory(display_name="Bonnie52")
    sign_in(page.context, UserFactory(), url=live_url)
    page.goto("/account/settings/")
    page.get_by_label("Display name").fill("Bonnie52")
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_role("alert")).to_contain_text("already taken")
    expect(page.get_by_label("Display name")).to_have_attribute("aria-invalid", "true")
    _assert_no_serious_violations(page)


def test_axe_on_the_emailed_pages(page: Page, live_url: str):
    """The confirm page and the new-password form (with its errors), opened from emails."""
    page.goto("/account/signup/")
    page.get_by_label("Email", exact=True).fill("kestrel@haven.test")
    page.get_by_label("Display name").fill("Kestrel")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Join Haven").click()
    _expect_frame(page, "Check your email")
    page.goto(_emailed_link("/account/confirm-email/"))
    _expect_frame(page, "Confirm your email address")
    _assert_no_serious_violations(page)

    page.goto("/account/password/reset/")
    page.get_by_label("Email", exact=True).fill("kestrel@haven.test")
    page.get_by_role("button", name="Send the link").click()
    page.goto(_emailed_link("/account/password/reset/key/"))
    _expect_frame(page, "Choose a new password")
    _assert_no_serious_violations(page)
    page.get_by_label("New password", exact=True).fill("short")
    _submit_empty(page, "Save new password")
    _assert_no_serious_violations(page)


def test_axe_on_the_too_many_attempts_page(page: Page, live_url: str, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "export": "1/hour",
        },
    }
    sign_in(page.context, UserFactory(), url=live_url)
    page.goto("/account/export/")
    with page.expect_download():
        _main(page).get_by_role("button", name="Download my data").click()
    _main(page).get_by_role("button", name="Download my data").click()
    _expect_frame(page, "Too many attempts")
    _assert_no_serious_violations(page)
