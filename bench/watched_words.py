"""Watched words: matching a 10 kB post against 500 entries (a benchmark, not a test).

    .venv/bin/python bench/watched_words.py [--entries 500] [--runs 2000]

No database or Redis: the entries are unsaved ``WatchedWord`` rows compiled with
``moderation.watched.compile_words``, as a process does once per version of the list; the
timing is of ``match_actions`` alone (what every new post pays). The posts are the forum
benchmark's corpus (``bench/corpus.py``), joined to 10 kB, one in four with a watched
phrase near its end. Prints the median, p90, p99 and max in milliseconds, wall-clock and
the thread's CPU time (on a shared machine the wall-clock tail is mostly waiting for a core).
"""

import argparse
import os
import random
import statistics
import string
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

import django

django.setup()

from bench.corpus import body_pool  # noqa: E402
from moderation.models import WatchedWord  # noqa: E402
from moderation.safeguarding_defaults import DEFAULT_WATCHED_WORDS  # noqa: E402
from moderation.watched import compile_words, match_actions  # noqa: E402

ACTIONS = ["block", "hold", "flag", "safeguarding", "sensitive"]
REGEXES = [
    r"\b(?:buy|order)\s+(?:cheap|discount)\s+\w+",
    r"\bt\.me/\w+",
    r"https?://(?:bit\.ly|tinyurl\.com)/\w+",
    r"\bc[a@]sh\s+pr[i1]ze\b",
    r"\bwh[a@]ts[a@]pp\s+me\b",
    r"\bcure[ds]?\s+(?:my|your|all)\s+cancer\b",
]


def entries(count: int, rng: random.Random) -> list[WatchedWord]:
    made = [WatchedWord(word=w, match=m, action=a) for w, m, a in DEFAULT_WATCHED_WORDS]
    made += [WatchedWord(word=r, match="regex", action="flag") for r in REGEXES]
    while len(made) < count:
        word = "".join(rng.choices(string.ascii_lowercase, k=rng.randint(5, 11)))
        if rng.random() < 0.15:
            extra = "".join(rng.choices(string.ascii_lowercase, k=rng.randint(3, 8)))
            made.append(WatchedWord(word=f"{word} {extra}", match="phrase", action="hold"))
        else:
            made.append(
                WatchedWord(
                    word=word,
                    match="word",
                    action=rng.choice(ACTIONS),
                    case_sensitive=rng.random() < 0.05,
                )
            )
    return made[:count]


def posts(count: int, rng: random.Random) -> list[str]:
    pool = body_pool(200)
    made = []
    for index in range(count):
        text = ""
        while len(text) < 10_000:
            text += rng.choice(pool) + "\n\n"
        text = text[:10_000]
        if index % 4 == 0:
            text = text[:9_000] + " some days I want to end my life " + text[9_000:9_960]
        made.append(text[:10_240])
    return made


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=500)
    parser.add_argument("--runs", type=int, default=2000)
    args = parser.parse_args()
    rng = random.Random(2026)
    words = entries(args.entries, rng)
    started = time.perf_counter()
    compiled = compile_words(words, version="bench")
    compile_ms = (time.perf_counter() - started) * 1000
    texts = posts(50, rng)
    for text in texts:  # warm up
        match_actions(compiled, text)
    wall, cpu = [], []
    for run in range(args.runs):
        text = texts[run % len(texts)]
        started, started_cpu = time.perf_counter(), time.thread_time()
        match_actions(compiled, text)
        cpu.append((time.thread_time() - started_cpu) * 1000)
        wall.append((time.perf_counter() - started) * 1000)
    print(f"{args.entries} entries, compiled once in {compile_ms:.1f} ms")
    print(f"{len(texts[0]):,}-character posts, {args.runs} matches (ms):")
    # Wall time includes waiting for a core on a busy machine; CPU time is this thread's.
    for name, timings in (("wall", sorted(wall)), ("cpu ", sorted(cpu))):
        print(
            f"  {name} median {statistics.median(timings):.3f}"
            f"  p90 {timings[int(len(timings) * 0.9)]:.3f}"
            f"  p99 {timings[int(len(timings) * 0.99)]:.3f}  max {timings[-1]:.3f}"
        )


if __name__ == "__main__":
    main()
