"""The account pages through Django's test client: allauth's browser views in Haven's frame,
the email links of both flows (app API and browser page) opening pages that exist, and a
member's own pages (settings, export, erase) on the API's services and throttles."""

import json
import re
from typing import Any
from urllib.parse import urlsplit

import pytest
from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.core import mail
from django.template.loader import get_template
from django.test import Client
from django.urls import NoReverseMatch, reverse
from rest_framework.test import APIClient

from accounts.models import User
from accounts.privacy import member_export
from accounts.roles import Role
from accounts.services import user_set_role
from forum.models import Post
from tests.factories import PASSWORD, UserFactory, make_thread
from tests.pages import assert_page_frame, parse_page
from tests.utils import signed_in

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "quiet-harbour-lights-77"


def _member(email_on_reply: bool = True, **fields: Any) -> User:
    user = UserFactory(**fields)
    if not email_on_reply:
        User.objects.filter(pk=user.pk).update(email_on_reply=False)
        user.refresh_from_db()
    return user


def _h1(response: Any) -> str:
    match = re.search(r"<h1>(.*?)</h1>", response.content.decode(), re.S)
    assert match
    return match.group(1).strip()


def _error_summary(response: Any) -> str:
    """The announced summary of a form's errors (empty if none)."""
    match = re.search(
        r'<div class="error-summary" role="alert"[^>]*>(.*?)</div>', response.content.decode(), re.S
    )
    return match.group(1) if match else ""


def _field_error(response: Any, field: str) -> str:
    """A field's own error list, and that its input says it is invalid and points at it."""
    html = response.content.decode()
    errors = re.search(rf'<ul class="errorlist" id="id_{field}_error">(.*?)</ul>', html, re.S)
    assert errors, f"no error shown next to {field}"
    tag = re.search(rf'<input [^>]*id="id_{field}"[^>]*>', html)
    assert tag and 'aria-invalid="true"' in tag.group(0), tag
    assert f"id_{field}_error" in tag.group(0)
    return errors.group(1)


def _links_in(message: mail.EmailMessage) -> list[str]:
    return re.findall(r"https?://\S+", message.body)


def _path(url: str) -> str:
    return urlsplit(url).path


# --- The frame of every account page ------------------------------------------------------------

ANONYMOUS_PAGES = {
    "/account/login/": ("Sign in", "Sign in"),
    "/account/signup/": ("Join Haven", "Join Haven"),
    "/account/confirm-email/": ("Check your email", "Check your email"),
    "/account/confirm-email/not-a-key/": (
        "Confirm your email address",
        "Confirm your email address",
    ),
    "/account/password/reset/": ("Reset your password", "Reset your password"),
    "/account/password/reset/done/": ("Check your email", "Check your email"),
    "/account/password/reset/key/1-not-a-key/": (
        "This link has expired",
        "This link has expired",
    ),
    "/account/password/reset/key/done/": ("Password changed", "Password changed"),
    "/account/inactive/": ("This account is closed", "This account is closed"),
}

MEMBER_PAGES = {
    "/account/settings/": ("Settings", "Settings"),
    "/account/export/": ("Download my data", "Download my data"),
    "/account/erase/": ("Erase my account", "Erase my account"),
    "/account/password/change/": ("Change password", "Change password"),
    "/account/logout/": ("Sign out", "Sign out"),
}


@pytest.mark.parametrize("path", list(ANONYMOUS_PAGES))
def test_every_signed_out_account_page_has_the_haven_frame(client, path):
    title, heading = ANONYMOUS_PAGES[path]
    response = client.get(path)
    assert response.status_code == 200
    assert_page_frame(response, title)
    assert _h1(response) == heading


@pytest.mark.parametrize("path", list(MEMBER_PAGES))
def test_every_members_account_page_has_the_haven_frame(path):
    title, heading = MEMBER_PAGES[path]
    response = signed_in(UserFactory()).get(path)
    assert response.status_code == 200
    assert_page_frame(response, title)
    assert _h1(response) == heading


def test_every_input_of_the_account_forms_has_a_label(client):
    pages = [client.get(path) for path in ("/account/login/", "/account/signup/")]
    member = signed_in(UserFactory())
    pages += [member.get(path) for path in ("/account/settings/", "/account/erase/")]
    pages.append(member.get("/account/password/change/"))
    for response in pages:
        page = parse_page(response)
        labelled = {label["for"] for label in page.all("label")}
        inputs = [
            attrs for tag, attrs in page.tags if tag == "input" and attrs.get("type") != "hidden"
        ]
        assert inputs
        for attrs in inputs:
            assert attrs["id"] in labelled, (response.request["PATH_INFO"], attrs)


def test_haven_templates_win_over_allauths_and_nothing_else_changes():
    """accounts comes before allauth: its page templates are found first; allauth's emails
    and the admin's templates are still their own."""
    for name in ("account/login.html", "allauth/layouts/base.html", "429.html"):
        assert "/accounts/templates/" in get_template(name).origin.name, name
    email = get_template("account/email/email_confirmation_signup_message.txt")
    assert "/allauth/templates/" in email.origin.name
    assert "/django/contrib/admin/" in get_template("admin/login.html").origin.name


def test_an_allauth_page_haven_did_not_rewrite_still_gets_the_frame():
    """allauth's layout and its fields element are Haven's: the set-password page (for an
    account without a password) keeps allauth's own template."""
    user = UserFactory()
    user.set_unusable_password()
    user.save()
    response = signed_in(user).get("/account/password/set/")
    assert response.status_code == 200
    page = assert_page_frame(response, "Set a password")
    assert {label["for"] for label in page.all("label")} >= {"id_password1", "id_password2"}


# --- Least privilege ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    ["/account/settings/", "/account/export/", "/account/erase/", "/account/password/change/"],
)
def test_signed_out_visitors_are_sent_to_sign_in(client, path):
    for method in (client.get, client.post):
        response = method(path)
        assert response.status_code == 302
        assert response["Location"] == f"/account/login/?next={path}"


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("/account/email/", "account_email"),
        ("/account/reauthenticate/", "account_reauthenticate"),
        ("/account/login/code/confirm/", "account_confirm_login_code"),
    ],
)
def test_pages_haven_does_not_offer_are_not_there(path, name):
    """No page to add, remove or swap email addresses (nor the re-authentication that guards
    it, nor sign-in codes): a member changes her name and reply emails, nothing else."""
    member = signed_in(UserFactory())
    assert member.get(path).status_code == 404
    assert member.post(path, {"email": "other@haven.test", "action_add": ""}).status_code == 404
    assert not EmailAddress.objects.filter(email="other@haven.test").exists()
    with pytest.raises(NoReverseMatch):
        reverse(name)


def test_the_settings_pages_refuse_other_methods():
    member = signed_in(UserFactory())
    for path in ("/account/settings/", "/account/export/", "/account/erase/"):
        assert member.put(path).status_code == 405
        assert member.delete(path).status_code == 405


# --- Sign up, verify, sign in, sign out (the browser flow) -----------------------------------


def _sign_up(client: Client, **overrides: str) -> Any:
    data = {"email": "sparrow@haven.test", "display_name": "Sparrowhawk", "password1": PASSWORD}
    data.update(overrides)
    return client.post("/account/signup/", data)


def test_sign_up_verify_by_the_emailed_link_then_sign_in(
    client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = _sign_up(client)
    assert response.status_code == 302
    assert response["Location"] == "/account/confirm-email/"
    user = User.objects.get(email="sparrow@haven.test")
    assert user.display_name == "Sparrowhawk"
    assert client.get("/account/settings/").status_code == 302  # not signed in yet

    [message] = mail.outbox
    [link] = [url for url in _links_in(message) if "/account/confirm-email/" in url]
    assert link.startswith(settings.FRONTEND_URL)
    page = client.get(_path(link))
    assert page.status_code == 200
    assert_page_frame(page, "Confirm your email address")
    assert "sparrow@haven.test" in page.content.decode()
    assert not EmailAddress.objects.get(user=user).verified  # opening the link confirms nothing

    confirmed = client.post(_path(link))
    assert confirmed.status_code == 302
    assert confirmed["Location"] == "/account/login/"
    assert EmailAddress.objects.get(user=user).verified

    signed_in = client.post(
        "/account/login/", {"login": "sparrow@haven.test", "password": PASSWORD}
    )
    assert signed_in.status_code == 302
    assert signed_in["Location"] == "/"
    assert client.session[SESSION_KEY] == str(user.pk)
    assert b'action="/account/logout/"' in client.get("/").content  # the header's Sign out


def test_sign_up_errors_are_announced_and_shown_next_to_their_fields(client):
    UserFactory(display_name="Bonnie52", email="bonnie@haven.test")
    response = _sign_up(client, email="not-an-email", display_name="B0nnie52", password1="short")
    assert response.status_code == 200
    summary = _error_summary(response)
    for field in ("email", "display_name", "password1"):
        assert f'href="#id_{field}"' in summary
    assert "already taken" in _field_error(response, "display_name")
    _field_error(response, "email")
    _field_error(response, "password1")
    assert_page_frame(response, "Error: Join Haven")
    assert_page_frame(client.get("/account/signup/"), "Join Haven")
    assert User.objects.count() == 1


def test_sign_up_refuses_a_staff_title_as_a_display_name(client):
    response = _sign_up(client, display_name="Breast Care Nurse")
    assert response.status_code == 200
    assert _field_error(response, "display_name")
    assert not User.objects.filter(email="sparrow@haven.test").exists()


def test_an_unverified_member_signing_in_is_sent_the_link_again(
    client, django_capture_on_commit_callbacks
):
    user = UserFactory(verified=False)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/account/login/", {"login": user.email, "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/account/confirm-email/"
    assert SESSION_KEY not in client.session
    [message] = mail.outbox
    assert any("/account/confirm-email/" in url for url in _links_in(message))


def test_a_wrong_password_is_announced_and_signs_nobody_in(client):
    user = UserFactory()
    response = client.post("/account/login/", {"login": user.email, "password": "wrong-one-here"})
    assert response.status_code == 200
    assert "not correct" in _error_summary(response)
    assert_page_frame(response, "Error: Sign in")
    assert SESSION_KEY not in client.session


def test_failed_sign_ins_are_limited_on_the_page_as_in_the_api(client):
    """allauth's failed-login limit (5 per address): then even the right password is refused,
    on the page and in the app API alike."""
    user = UserFactory()
    for _ in range(5):
        client.post("/account/login/", {"login": user.email, "password": "wrong-one-here"})
    response = client.post("/account/login/", {"login": user.email, "password": PASSWORD})
    assert response.status_code == 200
    assert "Too many failed login attempts" in _error_summary(response)
    assert SESSION_KEY not in client.session
    api = APIClient().post(
        "/_allauth/app/v1/auth/login", {"email": user.email, "password": PASSWORD}, format="json"
    )
    assert api.status_code == 400


def test_signing_in_greets_nobody_by_name(client):
    """allauth's "Successfully signed in as <name>" would put a nurse's private display name
    on the page she lands on; Haven's message names nobody."""
    nurse = UserFactory(display_name="Helen Smith", email="helen@haven.test")
    user_set_role(user=nurse, role=Role.NURSE)
    response = client.post(
        "/account/login/", {"login": "helen@haven.test", "password": PASSWORD}, follow=True
    )
    html = response.content.decode()
    assert "You are signed in." in html
    assert "Helen Smith" not in html and "helen@haven.test" not in html


def test_the_admin_keeps_its_own_sign_in_page(client):
    admin = UserFactory(is_staff=True, is_superuser=True)
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
    signed_in = client.post(
        "/admin/login/?next=/admin/", {"username": admin.email, "password": PASSWORD}
    )
    assert signed_in.status_code == 302
    assert signed_in["Location"] == "/admin/"


def test_sign_out_is_a_post_and_goes_home():
    user = UserFactory()
    client = signed_in(user)
    confirm = client.get("/account/logout/")
    assert confirm.status_code == 200
    assert client.session[SESSION_KEY] == str(user.pk)  # a GET signs nobody out
    response = client.post("/account/logout/")
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert SESSION_KEY not in client.session


# --- Email links: both flows lead to pages that exist -----------------------------------------


def test_a_sign_up_through_the_app_api_is_verified_on_the_emailed_page(
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        response = APIClient().post(
            "/_allauth/app/v1/auth/signup",
            {"email": "wren@haven.test", "password": PASSWORD, "display_name": "Wren"},
            format="json",
        )
    assert response.status_code == 401
    [message] = mail.outbox
    [link] = [url for url in _links_in(message) if "/account/confirm-email/" in url]
    browser = Client()
    assert browser.get(_path(link)).status_code == 200
    assert browser.post(_path(link)).status_code == 302
    assert EmailAddress.objects.get(email="wren@haven.test").verified
    signed_in = browser.post("/account/login/", {"login": "wren@haven.test", "password": PASSWORD})
    assert signed_in["Location"] == "/"


def _reset_by_link(message: mail.EmailMessage) -> Client:
    """Open the emailed reset link in a browser and choose a new password there."""
    [link] = [url for url in _links_in(message) if "/account/password/reset/key/" in url]
    assert re.fullmatch(r".*/account/password/reset/key/[0-9a-z]+-[^/]+/", link), link
    browser = Client()
    opened = browser.get(_path(link))
    # allauth keeps the key in the session and shows the form at a URL without it
    assert opened.status_code == 302
    form_url = opened["Location"]
    form = browser.get(form_url)
    assert form.status_code == 200
    assert_page_frame(form, "Choose a new password")
    mismatch = browser.post(form_url, {"password1": NEW_PASSWORD, "password2": "not-the-same-1"})
    assert mismatch.status_code == 200
    assert _field_error(mismatch, "password2")
    assert_page_frame(mismatch, "Error: Choose a new password")
    done = browser.post(form_url, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert done.status_code == 302
    assert done["Location"] == "/account/password/reset/key/done/"
    return browser


@pytest.mark.parametrize("started_in", ["app", "page"])
def test_a_password_reset_by_the_emailed_link(started_in, django_capture_on_commit_callbacks):
    user = UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        if started_in == "app":
            response = APIClient().post(
                "/_allauth/app/v1/auth/password/request", {"email": user.email}, format="json"
            )
            assert response.status_code == 200
        else:
            response = Client().post("/account/password/reset/", {"email": user.email})
            assert response.status_code == 302
            assert response["Location"] == "/account/password/reset/done/"
    [message] = mail.outbox
    _reset_by_link(message)

    mail.outbox.clear()
    client = Client()
    assert (
        client.post("/account/login/", {"login": user.email, "password": PASSWORD}).status_code
        == 200
    )
    signed_in = client.post("/account/login/", {"login": user.email, "password": NEW_PASSWORD})
    assert signed_in.status_code == 302
    assert client.session[SESSION_KEY] == str(user.pk)


def test_a_reset_request_for_a_malformed_address_says_error_first(client):
    response = client.post("/account/password/reset/", {"email": "not-an-email"})
    assert response.status_code == 200
    assert _field_error(response, "email")
    assert_page_frame(response, "Error: Reset your password")
    assert_page_frame(client.get("/account/password/reset/"), "Reset your password")


def test_a_used_reset_link_is_an_expired_page(django_capture_on_commit_callbacks):
    user = UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        Client().post("/account/password/reset/", {"email": user.email})
    [message] = mail.outbox
    _reset_by_link(message)
    [link] = [url for url in _links_in(message) if "/account/password/reset/key/" in url]
    again = Client().get(_path(link))
    assert again.status_code == 200
    assert _h1(again) == "This link has expired"


@pytest.mark.parametrize("started_in", ["app", "page"])
def test_every_link_in_every_account_email_opens_a_haven_page(
    started_in, django_capture_on_commit_callbacks
):
    """Sign-up (new and registered address) and reset (known and unknown address), from
    the app API and from the pages: each email's every link opens a page in Haven's frame."""
    UserFactory(email="bonnie@haven.test", display_name="Bonnie52")
    app, page = APIClient(), Client()
    with django_capture_on_commit_callbacks(execute=True):
        for email, name in (("new@haven.test", "Newcomer"), ("bonnie@haven.test", "Someone")):
            data = {"email": email, "password": PASSWORD, "display_name": name}
            if started_in == "app":
                app.post("/_allauth/app/v1/auth/signup", data, format="json")
            else:
                page.post("/account/signup/", {**data, "password1": PASSWORD})
        for email in ("bonnie@haven.test", "nobody@haven.test"):
            if started_in == "app":
                app.post("/_allauth/app/v1/auth/password/request", {"email": email}, format="json")
            else:
                page.post("/account/password/reset/", {"email": email})
    assert len(mail.outbox) == 4
    opened = set()
    for message in mail.outbox:
        links = _links_in(message)
        assert links, message.body
        for link in links:
            assert link.startswith(f"{settings.FRONTEND_URL}/account/"), link
            response = Client().get(_path(link), follow=True)
            assert response.status_code == 200, link
            assert_page_frame(response, _h1(response))
            opened.add(_h1(response))
    assert opened == {
        "Confirm your email address",
        "Reset your password",
        "Choose a new password",
        "Join Haven",
    }


def test_joining_with_a_registered_address_looks_like_joining(client):
    """No enumeration on the page either: the same answer as for a new address."""
    UserFactory(email="bonnie@haven.test", display_name="Bonnie52")
    new = _sign_up(client, email="new@haven.test", display_name="Newcomer")
    existing = _sign_up(Client(), email="bonnie@haven.test", display_name="Someone")
    assert new.status_code == existing.status_code == 302
    assert new["Location"] == existing["Location"] == "/account/confirm-email/"
    assert User.objects.filter(email="bonnie@haven.test").count() == 1


def test_allauths_own_rate_limits_answer_a_haven_page(client, settings):
    settings.ACCOUNT_RATE_LIMITS = {"login": "1/m/ip"}
    attempt = {"login": "a@haven.test", "password": "x" * 12}
    assert client.post("/account/login/", attempt).status_code == 200
    refused = client.post("/account/login/", attempt)
    assert refused.status_code == 429
    assert_page_frame(refused, "Too many attempts")


def test_every_route_an_account_email_links_to_resolves():
    """Followed to the end, as a browser does: a Haven page, even for a key that is wrong."""
    titles = {
        "account_confirm_email": "Confirm your email address",
        "account_reset_password": "Reset your password",
        "account_reset_password_from_key": "This link has expired",
        "account_signup": "Join Haven",
    }
    assert set(settings.HEADLESS_FRONTEND_URLS) == set(titles)
    for name, url in settings.HEADLESS_FRONTEND_URLS.items():
        path = _path(url.format(key="abc1-set-1a2b3c"))
        response = Client().get(path, follow=True)
        assert response.status_code == 200, (name, path, response.status_code)
        assert_page_frame(response, titles[name])


# --- Password change ----------------------------------------------------------------------------


def test_password_change_checks_the_current_one_then_changes_it():
    user = UserFactory()
    client = signed_in(user)
    wrong = client.post(
        "/account/password/change/",
        {"oldpassword": "not-my-password", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assert wrong.status_code == 200
    assert _field_error(wrong, "oldpassword")
    assert "id_oldpassword" in _error_summary(wrong)
    assert_page_frame(wrong, "Error: Change password")
    changed = client.post(
        "/account/password/change/",
        {"oldpassword": PASSWORD, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assert changed.status_code == 302
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert client.session[SESSION_KEY] == str(user.pk)  # still signed in here


# --- Settings -----------------------------------------------------------------------------------


def test_settings_show_the_members_own_values():
    user = _member(display_name="Sparrowhawk", email_on_reply=False)
    response = signed_in(user).get("/account/settings/")
    page = assert_page_frame(response, "Settings")
    assert page.all("input", name="display_name")[0]["value"] == "Sparrowhawk"
    checkbox = page.all("input", name="email_on_reply")[0]
    assert "checked" not in checkbox
    links = {a["href"] for a in page.all("a")}
    assert {"/account/password/change/", "/account/export/", "/account/erase/"} <= links


def test_settings_save_the_name_and_reply_emails_then_come_back_with_a_message():
    user = _member(display_name="Sparrowhawk")
    client = signed_in(user)
    response = client.post("/account/settings/", {"display_name": "Sparrow Hawk"})
    assert response.status_code == 302
    assert response["Location"] == "/account/settings/"
    user.refresh_from_db()
    assert (user.display_name, user.email_on_reply) == ("Sparrow Hawk", False)
    page = client.get("/account/settings/")
    assert '<div class="messages" role="status">' in page.content.decode()
    assert "Your settings are saved." in page.content.decode()


def test_settings_refuse_what_the_api_refuses_and_save_nothing():
    UserFactory(display_name="Bonnie52")
    user = _member(display_name="Sparrowhawk")
    client = signed_in(user)
    for name, expected in (
        ("B0NNIE52", "already taken"),
        ("Breast Care Nurse", "team"),
        ("ab", "at least 3"),
        ("Bonnie<script>", ""),
    ):
        response = client.post("/account/settings/", {"display_name": name, "email_on_reply": "on"})
        assert response.status_code == 400, name
        assert expected in _field_error(response, "display_name"), name
        assert_page_frame(response, "Error: Settings")
        assert 'href="#id_display_name"' in _error_summary(response)
        api = APIClient()
        api.force_authenticate(user)
        assert api.patch("/api/v1/me/", {"display_name": name}, format="json").status_code == 400
    user.refresh_from_db()
    assert user.display_name == "Sparrowhawk"


def test_a_suspended_member_may_turn_reply_emails_off_but_not_rename():
    user = _member(display_name="Sparrowhawk")
    User.objects.filter(pk=user.pk).update(suspended_indefinitely=True)
    client = signed_in(user)
    off = client.post("/account/settings/", {"display_name": "Sparrowhawk"})
    assert off.status_code == 302
    user.refresh_from_db()
    assert user.email_on_reply is False
    rename = client.post("/account/settings/", {"display_name": "Someone Else"})
    assert rename.status_code == 403  # as the API's
    assert "suspended" in _error_summary(rename).lower()
    assert_page_frame(rename, "Error: Settings")
    user.refresh_from_db()
    assert user.display_name == "Sparrowhawk"


def test_a_nurse_renames_herself_privately_as_the_api_lets_her():
    nurse = UserFactory(display_name="Care Team 1")
    user_set_role(user=nurse, role=Role.NURSE)
    response = signed_in(nurse).post(
        "/account/settings/", {"display_name": "Care Team 2", "email_on_reply": "on"}
    )
    assert response.status_code == 302
    nurse.refresh_from_db()
    assert nurse.display_name == "Care Team 2"


@pytest.mark.parametrize("threads", [1, 5])
def test_the_settings_page_costs_a_constant_number_of_queries(threads, django_assert_num_queries):
    user = UserFactory()
    for _ in range(threads):
        make_thread(author=user)
    client = signed_in(user)
    client.get("/account/settings/")  # the session is read from the cache from now on
    # the user; the header's unread count
    with django_assert_num_queries(2):
        response = client.get("/account/settings/")
    assert response.status_code == 200


# --- Export -------------------------------------------------------------------------------------


def test_export_explains_first_and_downloads_only_on_post():
    user = UserFactory()
    make_thread(author=user, title="My first question")
    client = signed_in(user)
    page = client.get("/account/export/")
    assert page["Content-Type"].startswith("text/html")
    assert 'method="post"' in page.content.decode()

    response = client.post("/account/export/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert re.fullmatch(
        r'attachment; filename="haven-export-\d{4}-\d{2}-\d{2}\.json"',
        response["Content-Disposition"],
    )
    data = json.loads(response.content)
    expected = json.loads(json.dumps(member_export(user)))
    api = APIClient()
    api.force_authenticate(user)
    from_api = api.get("/api/v1/me/export/").json()
    for export in (data, expected, from_api):
        export.pop("exported_at")
    assert data == expected == from_api
    assert data["threads"][0]["title"] == "My first question"


def test_export_shares_the_apis_throttle(settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "export": "2/hour",
        },
    }
    user = UserFactory()
    client = signed_in(user)
    api = APIClient()
    api.force_authenticate(user)
    assert api.get("/api/v1/me/export/").status_code == 200
    assert client.post("/account/export/").status_code == 200
    refused = client.post("/account/export/")
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    assert_page_frame(refused, "Too many attempts")
    assert api.get("/api/v1/me/export/").status_code == 429
    assert client.get("/account/export/").status_code == 200  # reading the page is free


# --- Erase --------------------------------------------------------------------------------------


def test_erasing_needs_the_password_and_erases_nothing_without_it():
    user = UserFactory()
    client = signed_in(user)
    for password in ("", "not-my-password"):
        response = client.post("/account/erase/", {"password": password, "delete_posts": "on"})
        assert response.status_code == 400
        assert _field_error(response, "password")
        assert_page_frame(response, "Error: Erase my account")
        assert 'href="#id_password"' in _error_summary(response)
    user.refresh_from_db()
    assert user.is_active and user.erased_at is None
    assert client.session[SESSION_KEY] == str(user.pk)


@pytest.mark.parametrize("delete_posts", [False, True])
def test_erasing_my_account_signs_me_out_and_sends_me_home(delete_posts):
    user = UserFactory(display_name="Sparrowhawk")
    thread = make_thread(author=user, title="A thread of mine")
    client = signed_in(user)
    data = {"password": PASSWORD, **({"delete_posts": "on"} if delete_posts else {})}
    response = client.post("/account/erase/", data)
    assert response.status_code == 302
    assert response["Location"] == "/"
    user.refresh_from_db()
    assert user.erased_at is not None and not user.is_active
    assert user.display_name == "Former member"
    assert SESSION_KEY not in client.session
    home = client.get("/")
    assert "Your account is erased." in home.content.decode()
    assert b"Sign in" in home.content
    first = thread.posts.order_by("pk").first()
    assert first is not None
    assert (first.status == Post.Status.DELETED) is delete_posts


def test_an_erased_members_old_email_no_longer_signs_in():
    user = UserFactory(email="sparrow@haven.test")
    signed_in(user).post("/account/erase/", {"password": PASSWORD})
    client = Client()
    response = client.post("/account/login/", {"login": "sparrow@haven.test", "password": PASSWORD})
    assert response.status_code == 200
    assert "not correct" in _error_summary(response)
    assert SESSION_KEY not in client.session


def test_erase_attempts_share_the_apis_throttle(settings):
    """Every attempt counts, wrong passwords included: the password cannot be guessed here."""
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "erase": "3/hour",
        },
    }
    user = UserFactory()
    client = signed_in(user)
    api = APIClient()
    api.force_authenticate(user)
    assert (
        api.delete("/api/v1/me/", {"password": "wrong-guess-1"}, format="json").status_code == 400
    )
    for guess in ("wrong-guess-2", "wrong-guess-3"):
        assert client.post("/account/erase/", {"password": guess}).status_code == 400
    refused = client.post("/account/erase/", {"password": PASSWORD})
    assert refused.status_code == 429
    assert_page_frame(refused, "Too many attempts")
    user.refresh_from_db()
    assert user.erased_at is None


def test_staff_erase_their_account_as_the_api_lets_them():
    nurse = UserFactory(display_name="Care Team 1")
    user_set_role(user=nurse, role=Role.NURSE)
    response = signed_in(nurse).post("/account/erase/", {"password": PASSWORD})
    assert response.status_code == 302
    nurse.refresh_from_db()
    assert nurse.erased_at is not None
