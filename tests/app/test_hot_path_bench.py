"""``bench.hot_path`` measures what it says: the real hot path's steps, and a floor that runs a
whole cycle's SQL again (the visitor's message and the reply written, the delivery recorded) on
the bare driver."""

from __future__ import annotations

import re

import pytest

from bench.hot_path import main


@pytest.mark.parametrize(("addressed", "steps"), [(False, 2), (True, 3)])
def test_the_hot_path_bench_times_each_step_against_its_sql_replayed(
    capsys: pytest.CaptureFixture[str], addressed: bool, steps: int
) -> None:
    """A chat reply is sent once stored: no delivery step; one to a visitor who left an
    address is queued, and its delivery timed."""
    main(["--cycles", "3", *(["--addressed"] if addressed else [])])
    out = capsys.readouterr().out
    means = {
        step: float(value)
        for step, value in re.findall(
            r"^\s+(message|reply|delivery|cycle)\s+mean\s+([\d.]+) ms", out, re.M
        )
    }
    timed = {"message", "reply", "delivery"} if addressed else {"message", "reply"}
    assert means.keys() == timed | {"cycle"} and len(timed) == steps
    assert all(value > 0 for value in means.values())
    assert ("delivery  none" in out) is not addressed
    statements = int(re.search(r"the cycle's (\d+) SQL statements", out).group(1))  # type: ignore[union-attr]
    # bench.sql_statements: 13 + 11, and 4 and the outbox's own when queued
    assert (20 <= statements <= 30) if not addressed else (28 <= statements <= 40)
    ratio = float(re.search(r"ratio cycle / floor \(means\): ([\d.]+)x", out).group(1))  # type: ignore[union-attr]
    assert ratio > 1  # the app does more than its SQL


def test_the_hot_path_bench_refuses_no_cycles() -> None:
    with pytest.raises(SystemExit):
        main(["--cycles", "0"])
