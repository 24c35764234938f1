"""The forum's start-up checks (``forum/checks.py``) of settings the fan-out depends on."""

import os
import subprocess
import sys

import pytest

from forum.checks import check_fanout_batch
from tests.servers import BASE_DIR, django_env


@pytest.mark.parametrize("batch", [0, -5])
def test_a_fanout_batch_below_one_is_refused(settings, batch):
    assert check_fanout_batch(None) == []
    settings.HAVEN_FANOUT_BATCH = batch
    [error] = check_fanout_batch(None)
    assert error.id == "forum.E002"
    settings.HAVEN_FANOUT_BATCH = 1
    assert check_fanout_batch(None) == []


def test_manage_py_check_stops_on_haven_fanout_batch_0():
    """From the environment, as an operator would set it: ``check`` fails naming it."""
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        env=django_env(redis_url=os.environ["REDIS_URL"], HAVEN_FANOUT_BATCH="0"),
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "forum.E002" in result.stderr
