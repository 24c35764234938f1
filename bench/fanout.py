"""Time the fan-out of one reply to the benchmark's fan thread (10,000 followers at 1 M posts).

    .venv/bin/python bench/fanout.py --db haven_bench_1000000
    .venv/bin/python bench/run.py --posts 1000000 --reuse --fanout   (the same, after a run)

Needs a database seeded by ``bench/run.py`` (its ``bench_meta`` names the fan thread and its
1-follower twin). For each of the two threads it writes a reply as the benchmark's member
through ``forum.services.post_create`` (as the API does), then calls
``forum.fanout.fan_out(post_id=...)`` in this process: the function the Celery task
``forum.tasks.fan_out_post`` runs, so its wall time is the worker time the job takes, less
the broker's hand-over. Queries are captured (``CaptureQueriesContext``): their number, the
chunks (one ``INSERT`` into ``forum_notification`` each) and queries per chunk. Each job
then runs a second time, as a redelivered job would, and must create nothing.

Until ``forum.fanout`` exists on the branch measured, it says so and measures nothing.
"""

import argparse
import os
import re
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

NOTIFICATION_INSERT = re.compile(r'INSERT\s+INTO\s+"?forum_notification"?', re.IGNORECASE)
MISSING = (
    "forum.fanout.fan_out is not on this branch (the fan-out off the request path has not "
    "landed): no figures"
)


def _run(fan_out: Any, post_id: int) -> dict[str, Any]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        started = time.perf_counter()
        created = fan_out(post_id=post_id)
        seconds = time.perf_counter() - started
    inserts = sum(1 for q in captured.captured_queries if NOTIFICATION_INSERT.search(q["sql"]))
    chunks = max(1, inserts)
    return {
        "created": int(created),
        "seconds": seconds,
        "queries": len(captured.captured_queries),
        "chunks": inserts,
        "queries_per_chunk": round(len(captured.captured_queries) / chunks, 1),
    }


def measure(meta: dict[str, Any]) -> dict[str, Any]:
    """Fan-out figures for a reply to the fan thread and to its 1-follower twin."""
    try:
        from forum.fanout import fan_out
    except ImportError:
        print(f"fan-out: {MISSING}", file=sys.stderr)
        return {"missing": MISSING}
    from accounts.models import User
    from forum.models import Post, Thread
    from forum.services import post_create

    member = User.objects.get(email=meta["member_email"])
    runs = []
    for label, thread_id, followers in (
        ("1-follower twin", meta["quiet_thread"], 1),
        ("fan thread", meta["fan_thread"], meta["fan_followers"]),
    ):
        thread = Thread.objects.get(pk=thread_id)
        post = post_create(
            author=member, thread=thread, body=f"Fan-out benchmark reply {time.time()}."
        )
        post = Post.objects.get(pk=post.pk)
        if post.fanned_out_at is not None:
            return {"missing": "post_create fanned the reply out in the request: no job to time"}
        first = _run(fan_out, post.pk)
        again = _run(fan_out, post.pk)
        runs.append({"label": label, "followers": followers, **first, "redelivered": again})
        print(
            f"fan-out, {label}: {followers:,} followers, {first['created']:,} notifications in "
            f"{first['seconds']:.3f}s, {first['queries']} queries in {first['chunks']} chunk(s) "
            f"({first['queries_per_chunk']} per chunk); redelivered: {again['created']} created, "
            f"{again['queries']} queries",
            file=sys.stderr,
        )
    return {"runs": runs}


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--db", required=True, help="a database seeded by bench/run.py")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/14")
    args = parser.parse_args()

    import secrets

    from bench import run

    run.DB_NAME = args.db
    run.REDIS_URL = args.redis_url
    os.environ.update(run.server_env(8765, secrets.token_urlsafe(48)))
    import django

    django.setup()
    meta = run.bench_meta()
    if meta is None or "fan_thread" not in meta:
        raise SystemExit(f"{args.db} holds no benchmark forum: seed it with bench/run.py")
    result = measure(meta)
    return 0 if "runs" in result or "missing" in result else 1


if __name__ == "__main__":
    sys.exit(main())
