"""Small helpers shared by the tests."""

import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress

from rest_framework.test import APIClient

from accounts.models import User


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
