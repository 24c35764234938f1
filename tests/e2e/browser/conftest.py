"""Browser tests: Playwright for Python drives Debian's Chromium against a live Haven.

One Chromium for the whole session (launched from ``/usr/bin/chromium`` with
``executable_path``: nothing ever downloads a browser), a new context (cookies, storage) for
every test. The live server answers from its own thread on the test database, so every test
here is transactional: its rows are committed where the server can read them, and emptied
when it ends (tests/conftest.py puts the role groups and the site back first).

A failing test leaves a screenshot and the page's HTML under ``artifacts/`` (git-ignored).
"""

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.management import call_command
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

CHROMIUM = os.environ.get("HAVEN_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
ARTIFACTS = Path(__file__).parent / "artifacts"
# Playwright waits this long for an element or a navigation before failing a step.
TIMEOUT_MS = 10_000


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    """Keep each phase's report on the test, so its page can tell it failed."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless, launched once for the session (Playwright gives it a
    fresh, temporary user-data-dir).

    Playwright's sync API keeps an asyncio loop marked as running in this thread between
    its calls, so Django would take every ORM call of the tests for one made from async
    code. Haven has no async code; while the browser lives, Django is told to allow them.
    """
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"No Chromium at {CHROMIUM}: `make browser` installs Debian's chromium.")
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def live_url(live_server, transactional_db: None) -> str:
    """The live server's address; asking for ``transactional_db`` by name lets the suite's
    conftest restore the role groups before the test's own rows are written."""
    return str(live_server.url)


def _new_context(browser: Browser, live_url: str, **options) -> BrowserContext:
    context = browser.new_context(base_url=live_url, locale="en-GB", **options)
    context.set_default_timeout(TIMEOUT_MS)
    return context


def _save_artifacts(request: pytest.FixtureRequest, page: Page, suffix: str = "") -> None:
    report = getattr(request.node, "report_call", None)
    if report is None or not report.failed or page.is_closed():
        return
    ARTIFACTS.mkdir(exist_ok=True)
    name = re.sub(r"[^\w.-]+", "_", request.node.nodeid.split("::", 1)[-1]) + suffix
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    (ARTIFACTS / f"{name}.html").write_text(page.content(), encoding="utf-8")


@pytest.fixture
def context(browser: Browser, live_url: str) -> Iterator[BrowserContext]:
    """A fresh browser profile (no cookies) for one test, addressed at the live server."""
    context = _new_context(browser, live_url)
    yield context
    context.close()


@pytest.fixture
def page(context: BrowserContext, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A tab; relative ``goto("/")`` opens the live server. On failure: screenshot + HTML."""
    page = context.new_page()
    yield page
    _save_artifacts(request, page)


@pytest.fixture
def no_js_page(browser: Browser, live_url: str, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A tab with JavaScript turned off, as some readers browse."""
    context = _new_context(browser, live_url, java_script_enabled=False)
    page = context.new_page()
    yield page
    _save_artifacts(request, page, "-nojs")
    context.close()


@pytest.fixture
def demo(live_url: str) -> None:
    """The demo community (``seed_demo``): categories, accounts, the reference thread
    answered and closed by the nurse, and the moderation scenes."""
    call_command("seed_demo", "--quiet-accounts", verbosity=0)
