"""``bench.hot_path`` measures what it says: the real hot path's steps, and a floor that runs a
whole cycle's SQL again (the visitor's message and the reply written, the delivery recorded) on
the bare driver."""

from __future__ import annotations

import re

import pytest

from bench.hot_path import main


def test_the_hot_path_bench_times_each_step_against_its_sql_replayed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    main(["--cycles", "3"])
    out = capsys.readouterr().out
    means = {
        step: float(value)
        for step, value in re.findall(
            r"^\s+(message|reply|delivery|cycle)\s+mean\s+([\d.]+) ms", out, re.M
        )
    }
    assert means.keys() == {"message", "reply", "delivery", "cycle"}
    assert all(value > 0 for value in means.values())
    statements = int(re.search(r"the cycle's (\d+) SQL statements", out).group(1))  # type: ignore[union-attr]
    assert 20 <= statements <= 40  # bench.sql_statements: 13 + 11 + 4, and the outbox's own
    ratio = float(re.search(r"ratio cycle / floor \(means\): ([\d.]+)x", out).group(1))  # type: ignore[union-attr]
    assert ratio > 1  # the app does more than its SQL


def test_the_hot_path_bench_refuses_no_cycles() -> None:
    with pytest.raises(SystemExit):
        main(["--cycles", "0"])
