"""``bench/run.py``'s options: a partial run never writes the whole report."""

import pytest

from bench.run import parse_args


def test_only_names_rows_and_never_writes_the_report() -> None:
    assert parse_args(["--only", "posts_signed,hot_read"]).only == ["posts_signed", "hot_read"]
    assert parse_args([]).only is None
    with pytest.raises(SystemExit):
        parse_args(["--only", "posts_signed", "--write-results"])
