"""What the browser tests share: axe-core's check of a page, signing a browser in, and for
the stories: what people saw on the way, links in emails, the keyboard's focus."""

import re
from collections.abc import Collection
from typing import Any
from urllib.parse import urlsplit

from axe_playwright_python.sync_playwright import Axe
from django.conf import settings
from django.core import mail
from django.test import Client
from playwright.sync_api import BrowserContext, Locator, Page

from accounts.models import User

_AXE = Axe()  # axe-core's own script, shipped inside the axe-playwright-python wheel


def axe_violations(
    page: Page, impact: tuple[str, ...] = ("serious", "critical")
) -> list[dict[str, Any]]:
    """axe-core's violations on the page as it is now, those of the given impacts only.

    Run by the DevTools protocol, so the page's CSP (scripts from 'self' only) does not
    stop it and the page needs no script of its own.
    """
    results = _AXE.run(page, options={"resultTypes": ["violations"]})
    return [v for v in results.response["violations"] if v["impact"] in impact]


def describe(violations: list[dict[str, Any]]) -> str:
    """Each violation's rule id, impact and offending nodes, for an assertion message."""
    lines = []
    for violation in violations:
        lines.append(f"{violation['id']} ({violation['impact']}): {violation['help']}")
        for node in violation["nodes"]:
            lines.append(f"    {', '.join(map(str, node['target']))}: {node['html'][:200]}")
    return "\n".join(lines)


def sign_in(context: BrowserContext, user: User, *, url: str) -> None:
    """Sign ``user`` in for every tab of ``context`` on the server at ``url``: a real session,
    made as Django's test client makes it, handed to the browser as its session cookie (the
    browser sign-in pages are tested on their own)."""
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": cookie.value,
                "url": url,
                "httpOnly": True,
                "sameSite": "Lax",
            }
        ]
    )


# --- Stories across pages (tests/e2e/browser/test_scenarios.py, test_keyboard.py) ---------


class Tour:
    """What people saw on their way through a story.

    ``saw`` keeps each page's HTML as it was at that step (to check afterwards that no page
    showed a word it must not) and runs axe-core once on each distinct page, named by the
    caller ("thread, signed in", "answer preview"...): the story goes on past a failing check
    and ``assert_accessible`` lists every page's violations at the end.
    """

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, str]] = []  # (who, url, html)
        self.checked: dict[str, list[dict[str, Any]]] = {}

    def saw(self, page: Page, *, who: str, name: str) -> None:
        """Keep what ``who`` sees now; axe-check the page the first time ``name`` is seen."""
        page.wait_for_load_state()
        self.seen.append((who, page.url, page.content()))
        if name not in self.checked:
            self.checked[name] = axe_violations(page)

    def assert_never_shown(self, *texts: str, to: Collection[str] | None = None) -> None:
        """No page anybody saw (or anybody of ``to``) contains any of ``texts``
        (case-insensitive)."""
        found = [
            f"{who} at {url}: {text!r}"
            for who, url, html in self.seen
            if to is None or who in to
            for text in texts
            if text.lower() in html.lower()
        ]
        assert not found, "shown where it must never be:\n" + "\n".join(found)

    def assert_accessible(self) -> None:
        """axe-core found nothing serious or critical on any page of the story."""
        failing = {name: found for name, found in self.checked.items() if found}
        assert not failing, "\n\n".join(
            f"[{name}]\n{describe(found)}" for name, found in failing.items()
        )


def link_in_email(*, to: str, path_contains: str) -> str:
    """The path (and query) of the first link containing ``path_contains`` in the newest
    email to ``to``, from the locmem outbox the live server's thread shares with the test.
    The path only: the browser opens it on the live server, whatever host the email names.
    """
    messages = [m for m in mail.outbox if to in m.to]
    assert messages, f"no email to {to} (outbox: {[m.to for m in mail.outbox]})"
    message = messages[-1]
    bodies = [message.body, *(content for content, _ in getattr(message, "alternatives", []))]
    for body in bodies:
        for url in re.findall(r"https?://[^\s\"'<>]+", str(body)):
            if path_contains in url:
                parts = urlsplit(url)
                return parts.path + (f"?{parts.query}" if parts.query else "")
    raise AssertionError(f"no link with {path_contains!r} in the email:\n{message.body}")


def focus_outline(page: Page) -> dict[str, str]:
    """The focused element (tag, accessible text) and its computed outline."""
    return page.evaluate(
        """() => {
            const element = document.activeElement;
            const style = getComputedStyle(element);
            return {
                tag: element.tagName.toLowerCase(),
                text: (element.getAttribute("aria-label") || element.innerText
                       || element.getAttribute("name") || element.id || "").trim().slice(0, 60),
                outlineStyle: style.outlineStyle,
                outlineWidth: style.outlineWidth,
            };
        }"""
    )


def assert_focus_visible(page: Page) -> None:
    """The element that has the keyboard focus shows it: an outline that is not none."""
    focused = focus_outline(page)
    assert focused["tag"] != "body", "Tab left the focus nowhere (on <body>)"
    assert focused["outlineStyle"] != "none" and focused["outlineWidth"] != "0px", (
        f"no visible focus on <{focused['tag']}> {focused['text']!r}: "
        f"outline {focused['outlineStyle']} {focused['outlineWidth']}"
    )


def tab_to(page: Page, target: Locator, *, limit: int = 80, backwards: bool = False) -> int:
    """Press Tab (Shift+Tab if ``backwards``) until ``target`` has the focus, checking at
    every stop that the focus is visible; the number of presses. Fails if ``limit`` presses
    never reach it."""
    key = "Shift+Tab" if backwards else "Tab"
    for presses in range(1, limit + 1):
        page.keyboard.press(key)
        assert_focus_visible(page)
        if target.evaluate("element => element === document.activeElement"):
            return presses
    raise AssertionError(f"{target} is never reached with {key} ({limit} presses)")
