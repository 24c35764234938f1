"""What the browser tests share: axe-core's accessibility check on a page."""

from typing import Any

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page

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
