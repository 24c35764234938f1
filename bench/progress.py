"""Console output of the benchmark scripts: log lines and progress bars, on stderr."""

import contextlib
import sys
import threading
import time
from collections.abc import Iterator


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class Progress:
    """A plain text progress bar on stderr."""

    def __init__(self, label: str, total: int) -> None:
        self.label, self.total, self.done = label, max(total, 1), 0
        self.started = time.monotonic()
        self._last = 0.0
        self._draw(force=True)

    def update(self, count: int = 1) -> None:
        self.done += count
        self._draw()

    def _draw(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last < 0.2 and self.done < self.total:
            return
        self._last = now
        width = 30
        filled = int(width * min(self.done, self.total) / self.total)
        bar = "#" * filled + "." * (width - filled)
        elapsed = now - self.started
        sys.stderr.write(
            f"\r  {self.label:<16} [{bar}] {100 * self.done / self.total:5.1f}% "
            f"{self.done:>9,}/{self.total:,}  {elapsed:6.1f}s"
        )
        sys.stderr.flush()

    def close(self) -> float:
        self.done = self.total
        self._draw(force=True)
        sys.stderr.write("\n")
        return time.monotonic() - self.started


@contextlib.contextmanager
def ticking(label: str) -> Iterator[None]:
    """For one long statement: show the elapsed time until it returns."""
    stop = threading.Event()
    started = time.monotonic()

    def tick() -> None:
        while not stop.wait(0.5):
            sys.stderr.write(f"\r  {label:<16} {time.monotonic() - started:6.1f}s")
            sys.stderr.flush()

    ticker = threading.Thread(target=tick, daemon=True)
    ticker.start()
    try:
        yield
    finally:
        stop.set()
        ticker.join()
        sys.stderr.write(f"\r  {label:<16} {time.monotonic() - started:6.1f}s done\n")
