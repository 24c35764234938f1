"""The Django admin in a real browser: proves the browser-test machinery end to end."""

import re

from django.conf import settings
from playwright.sync_api import Page, expect

from tests.e2e.browser.helpers import axe_violations, describe
from tests.factories import PASSWORD, UserFactory


def test_admin_login_page_renders_and_signs_in(page: Page):
    UserFactory(email="admin@haven.test", display_name="Site Admin", is_superuser=True)

    response = page.goto(f"/{settings.ADMIN_URL}")
    assert response is not None and response.ok
    expect(page).to_have_url(re.compile(rf"/{settings.ADMIN_URL}login/\?next="))
    expect(page.locator("html")).to_have_attribute("lang", "en-gb")
    page.get_by_label("Email").fill("admin@haven.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#site-name")).to_be_visible()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


def test_axe_helper_reports_violations_by_impact(page: Page):
    """The helper runs axe-core in the page (not asserted clean: the admin is Django's)."""
    page.goto(f"/{settings.ADMIN_URL}login/")
    found = axe_violations(page, impact=("minor", "moderate", "serious", "critical"))
    print(describe(found))
    assert all(v["impact"] in {"minor", "moderate", "serious", "critical"} for v in found)
