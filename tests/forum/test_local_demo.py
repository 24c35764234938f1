"""The zero set-up local run: SQLite, eager jobs, the demo seeded, search by icontains."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
from forum import selectors
from forum.filters import ThreadFilter
from forum.models import Post, Thread
from moderation.models import ReviewItem
thread = Thread.objects.get(title="Treatment for a local recurrence")
print(thread.title, thread.reply_count, sum(p.like_count for p in thread.posts.all()))
threads = selectors.thread_list(viewer=None)
print([t.title for t in ThreadFilter({"q": "recurrence"}, queryset=threads).qs])
print([t.title for t in selectors.thread_similar(title="treatment after a recurrence")])
for item in ReviewItem.objects.order_by("-urgent", "id"):
    print(item.thread.title, item.status, item.urgent, item.held, sorted(item.reasons))
# A member signed in with a session token reads the thread (a miss, then the cached page
# with her like overlaid) and the list, as the app does.
import json
from django.test import Client
from forum.models import Like
liker = Like.objects.filter(post__thread=thread).select_related("user").first().user
answer = Client(HTTP_HOST="127.0.0.1").post(
    "/_allauth/app/v1/auth/login",
    json.dumps({"email": liker.email, "password": "haven-demo-2026"}),
    content_type="application/json",
)
app = Client(HTTP_HOST="127.0.0.1", HTTP_X_SESSION_TOKEN=answer.json()["meta"]["session_token"])
pages = [app.get(f"/api/v1/threads/{thread.pk}/posts/") for _ in range(2)]
liked = [sum(row["liked_by_me"] for row in p.json()["results"]) for p in pages]
print([p.status_code for p in pages], liked)
print(app.get("/api/v1/threads/").status_code)
"""


def _manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def test_migrate_seed_twice_and_search_on_sqlite(tmp_path):
    ours = ("DJANGO_", "DATABASE_", "REDIS_", "EMAIL_", "HAVEN_", "CELERY_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(ours)}
    env |= {
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        "DATABASE_URL": f"sqlite:///{tmp_path}/demo.sqlite3",
    }
    assert _manage("migrate", "--noinput", env=env).returncode == 0
    first = _manage("seed_demo", env=env)
    assert first.returncode == 0, first.stderr
    for title in ("Coping with tiredness", "Looking after my mum", "Finding it hard lately"):
        assert f"review    '{title}" in first.stdout
    assert "thread    'Treatment for a local recurrence' with 5 replies" in first.stdout
    second = _manage("seed_demo", env=env)
    assert "Demo data is already present; nothing added." in second.stdout

    result = _manage("shell", "--verbosity", "0", "-c", SCRIPT, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "Treatment for a local recurrence 5 1",
        "['Treatment for a local recurrence']",
        "['Treatment for a local recurrence']",
        # The moderators' demo queue: urgent first.
        "Finding it hard lately pending True False ['safeguarding']",
        "Coping with tiredness during radiotherapy pending False False ['misinformation']",
        "Looking after my mum after her surgery pending False True ['held']",
        "[200, 200] [1, 1]",
        "200",
    ]
