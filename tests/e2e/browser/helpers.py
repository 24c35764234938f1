"""What the browser tests share: axe-core's check of a page, signing a browser in."""

from typing import Any

from axe_playwright_python.sync_playwright import Axe
from django.conf import settings
from django.test import Client
from playwright.sync_api import BrowserContext, Page

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
