"""Logging filters."""

import logging
import threading
import time


class OncePerInterval(logging.Filter):
    """Lets one record per message through every ``seconds``, as a warning, with a count.

    During an outage every request fails the same way; one line a minute says so (and how
    many were held back) without flooding the log or the disk.
    """

    def __init__(self, seconds: float = 60) -> None:
        super().__init__()
        self.seconds = seconds
        self._lock = threading.Lock()
        self._last: dict[str, float] = {}
        self._held: dict[str, int] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        key = f"{record.name}:{record.msg}"
        now = time.monotonic()
        with self._lock:
            last = self._last.get(key)
            if last is not None and now - last < self.seconds:
                self._held[key] = self._held.get(key, 0) + 1
                return False
            self._last[key] = now
            held = self._held.pop(key, 0)
        if held:
            record.msg = f"{record.msg} (and {held} more in the last {self.seconds:g} s)"
        record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True
