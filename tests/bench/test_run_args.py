"""``bench/run.py``'s options: a partial run never writes the whole report."""

import pytest

from bench.run import parse_args


def test_only_names_rows_and_never_writes_the_report() -> None:
    assert parse_args(["--only", "posts_signed,hot_read"]).only == ["posts_signed", "hot_read"]
    assert parse_args([]).only is None
    with pytest.raises(SystemExit):
        parse_args(["--only", "posts_signed", "--write-results"])


def _endpoints(monkeypatch: pytest.MonkeyPatch) -> list:
    """The rows ``build_endpoints`` makes, on made-up seed data (no server asked)."""
    from bench import run

    monkeypatch.setattr(run, "deep_posts_path", lambda port, big, hops: ("/deep/", 7))
    meta = {
        "big_thread": 1,
        "fan_thread": 2,
        "quiet_thread": 3,
        "reply_threads": [4, 5],
        "rare_word": "Zoladex",
        "fan_followers": 10,
    }
    endpoints, _deep_page = run.build_endpoints(0, meta, "token", ["liker"], [6], 1)
    return endpoints


def _refusal(capsys: pytest.CaptureFixture[str], only: str) -> str:
    with pytest.raises(SystemExit):
        parse_args(["--only", only])
    return capsys.readouterr().err


def test_only_refuses_an_unknown_row_by_name(capsys: pytest.CaptureFixture[str]) -> None:
    """A misspelt row used to be dropped silently: a run of the ceiling alone."""
    for wrong in ("posts_signed,hot_raed", "hot_read,", "everything"):
        error = _refusal(capsys, wrong)
        assert "unknown row(s)" in error and "posts_signed" in error  # and the rows it knows
    assert "'hot_raed'" in _refusal(capsys, "posts_signed,hot_raed")


def test_the_known_rows_are_those_the_run_builds(monkeypatch: pytest.MonkeyPatch) -> None:
    from bench.run import ROW_KEYS

    assert tuple(e.key for e in _endpoints(monkeypatch)) == ROW_KEYS
    assert parse_args(["--only", ",".join(ROW_KEYS)]).only == list(ROW_KEYS)


def test_only_keeps_the_ceiling_and_the_named_rows_and_checks_their_loads(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Filtered before the pre-run checks (which post replies) and the query profiles: a
    read-only selection checks no write row but those its rows load in the background."""
    from bench.run import rows_measured, rows_needed

    endpoints = _endpoints(monkeypatch)
    only = parse_args(["--only", "search_rare,hot_read"]).only
    measured = rows_measured(endpoints, only)
    assert [e.key for e in measured] == ["ceiling", "search_rare", "hot_read"]
    assert [e.key for e in rows_needed(endpoints, measured)] == [
        "ceiling",
        "search_rare",
        "reply_fan",  # hot_read's background load
        "hot_read",
    ]
    reads = rows_measured(endpoints, ["posts_anon"])
    assert not any(e.post for e in rows_needed(endpoints, reads))
    assert rows_measured(endpoints, None) == endpoints
