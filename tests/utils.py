"""Small helpers shared by the tests."""

import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from html.parser import HTMLParser
from typing import Any

from django.db import connection
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import User
from tests.factories import PASSWORD


def answer(response: Any) -> tuple[int, list[tuple[str, str]], bytes]:
    """Status, headers in order, body bytes (``Expires: now`` says only that it is set): what
    a cached answer must equal."""
    headers = [(k, "now" if k == "Expires" else v) for k, v in response.headers.items()]
    return response.status_code, headers, response.content


def uncached(settings: Any, get: Callable[[], Any]) -> Any:
    """``get()`` answered with the page cache off (``HAVEN_PAGE_CACHE = False``)."""
    settings.HAVEN_PAGE_CACHE = False
    try:
        return get()
    finally:
        settings.HAVEN_PAGE_CACHE = True


def dispatches(monkeypatch: Any, view: type) -> list[str]:
    """The methods of the requests DRF's ``view`` dispatches from now on (a fast path before
    DRF dispatches none)."""
    seen: list[str] = []
    dispatch = view.dispatch

    def spy(self: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(request.method)
        return dispatch(self, request, *args, **kwargs)

    monkeypatch.setattr(view, "dispatch", spy)
    return seen


def token_client(user: User) -> APIClient:
    """An app client signed in as ``user`` with a real allauth session token, as apps sign
    in (``X-Session-Token``, read by ``accounts.tokens``): unlike ``client_for``, its
    requests take every path a real app's do, the fast paths before DRF included."""
    response = APIClient().post(
        "/_allauth/app/v1/auth/login", {"email": user.email, "password": PASSWORD}, format="json"
    )
    assert response.status_code == 200, response.content
    client = APIClient()
    client.credentials(HTTP_X_SESSION_TOKEN=response.json()["meta"]["session_token"])
    return client


def signed_in(user: User, **options: Any) -> Client:
    """A browser-like test client with ``user``'s session (``options`` as ``Client``'s)."""
    client = Client(**options)
    client.force_login(user)
    return client


def page_messages(response: Any) -> list[str]:
    """The confirmations and warnings a page shows at the top (Django's messages)."""
    return re.findall(r'<p class="message[^"]*">(.*?)</p>', response.content.decode(), re.S)


def client_for(user: User) -> APIClient:
    """An API client signed in as ``user`` (authentication itself is tested elsewhere)."""
    client = APIClient()
    client.force_authenticate(user)
    return client


def closed_port() -> int:
    """A loopback port nothing listens on: for pointing a service at a dead address."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(predicate: Callable[[], bool], timeout: float = 15) -> bool:
    """Poll for something a worker does in the background."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def race(workers: list[Callable[[], None]], timeout: float = 120) -> list[BaseException]:
    """Run each worker in its own thread (and database connection), all released at once.

    Returns what they raised: a deadlock or a failed assertion in any of them.
    """
    barrier = threading.Barrier(len(workers))
    errors: list[BaseException] = []

    def run(work: Callable[[], None]) -> None:
        try:
            barrier.wait()
            work()
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(work,)) for work in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=timeout)
    return errors


@contextmanager
def blackholed_port() -> Iterator[int]:
    """A loopback port whose connections hang: its listen queue is full and nobody accepts.

    Like a server behind a firewall that drops packets: connecting waits for its timeout.
    """
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = int(server.getsockname()[1])
    fillers = []
    try:
        for _ in range(3):
            filler = socket.socket()
            filler.setblocking(False)
            with suppress(BlockingIOError):
                filler.connect(("127.0.0.1", port))
            fillers.append(filler)
        time.sleep(0.1)
        yield port
    finally:
        for filler in fillers:
            filler.close()
        server.close()


class _FormReader(HTMLParser):
    """The fields of an HTML page's forms, as a browser would submit them unchanged."""

    def __init__(self, skip_forms: set[str]) -> None:
        super().__init__()
        self.skip_forms = skip_forms
        self.values: dict[str, list[str]] = {}
        self._skipping = False
        self._textarea: str | None = None
        self._select: str | None = None

    def _add(self, name: str | None, value: str) -> None:
        if name and not self._skipping:
            self.values.setdefault(name, []).append(value)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {key: value or "" for key, value in attrs}
        if tag == "form":
            self._skipping = a.get("id") in self.skip_forms
        elif tag == "input" and a.get("type") not in {"submit", "button", "file", "image"}:
            if a.get("type") in {"checkbox", "radio"}:
                if "checked" in a:
                    self._add(a.get("name"), a.get("value") or "on")
            else:
                self._add(a.get("name"), a.get("value", ""))
        elif tag == "textarea":
            self._textarea = a.get("name")
            self._add(self._textarea, "")
        elif tag == "select":
            self._select = a.get("name")
        elif tag == "option" and self._select and "selected" in a:
            self._add(self._select, a.get("value", ""))

    def handle_data(self, data: str) -> None:
        if self._textarea and not self._skipping:
            self.values[self._textarea][-1] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea" and self._textarea:
            # A browser drops the line break that follows the opening tag.
            text = self.values[self._textarea][-1]
            self.values[self._textarea][-1] = text.removeprefix("\n")
            self._textarea = None
        elif tag == "select":
            self._select = None
        elif tag == "form":
            self._skipping = False


def admin_form(client: Client, url: str, **changes: str) -> dict[str, Any]:
    """What a browser submits from an admin page, with ``changes`` typed in by the user."""
    page = client.get(url)
    assert page.status_code == 200, page.status_code
    reader = _FormReader(skip_forms={"logout-form"})
    reader.feed(page.content.decode())
    data: dict[str, Any] = {
        name: values[0] if len(values) == 1 else values for name, values in reader.values.items()
    }
    data.pop("csrfmiddlewaretoken", None)
    return {**data, **changes}


def thread_counts() -> tuple[dict[str, int], dict[str, int]]:
    """Every category's count of visible threads as the lists read it (the kept count plus
    the changes logged since its last fold: ``forum.selectors.with_visible_thread_count``)
    and its real one (``COUNT(*)``), by slug: a test asserts they are equal."""
    from django.db.models import Count, Q

    from forum.models import Category
    from forum.selectors import with_visible_thread_count

    rows = with_visible_thread_count(Category.objects.all()).annotate(
        real=Count("threads", filter=Q(threads__visibility="visible"))
    )
    kept = {c.slug: c.visible_threads for c in rows}  # type: ignore[attr-defined]
    real = {c.slug: c.real for c in rows}  # type: ignore[attr-defined]
    return kept, real


def throttle_rates(settings: Any, **rates: str) -> None:
    """Set the API's throttle rates ``rates`` (by scope) for this test, the others kept."""
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], **rates},
    }
