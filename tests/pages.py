"""What tests of Haven's pages share: a page's tags in order, and the frame every page has."""

import re
from html.parser import HTMLParser
from typing import Any


class Page(HTMLParser):
    """The tags of a page in document order, with their attributes, and its text."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def all(self, tag: str, **attrs: str) -> list[dict[str, str | None]]:
        return [
            found
            for name, found in self.tags
            if name == tag and all(found.get(key) == value for key, value in attrs.items())
        ]


def parse_page(response: Any) -> Page:
    assert response["Content-Type"].startswith("text/html")
    return Page(response.content.decode())


def assert_page_frame(response: Any, title: str) -> Page:
    """What every page has: lang, title, the skip link first, header, main, footer, one h1."""
    html = response.content.decode()
    page = parse_page(response)
    assert page.all("html") == [{"lang": "en-GB"}]
    assert re.search(rf"<title>{re.escape(title)} — Haven</title>", html), html[:400]
    focusable = [(tag, a) for tag, a in page.tags if tag in ("a", "button", "input", "summary")]
    assert focusable[0] == ("a", {"class": "skip-link", "href": "#main"})
    assert len(page.all("header", **{"class": "site-header"})) == 1
    assert page.all("main") == [{"id": "main", "tabindex": "-1"}]
    assert len(page.all("footer")) == 1
    assert len(page.all("h1")) == 1
    assert page.all("link", rel="stylesheet") == [
        {"rel": "stylesheet", "href": "/static/haven/haven.css"}
    ]
    # The CSP forbids inline scripts: one script, htmx from our own static files (it only
    # enhances; every page works without it), and no inline style at all.
    scripts = page.all("script")
    assert scripts == [{"src": "/static/django_htmx/htmx-2.min.js", "defer": None}], scripts
    assert html.count("<script") == 1
    assert "<style" not in html and " style=" not in html
    return page
