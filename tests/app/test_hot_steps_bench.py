"""``bench.hot_steps`` times the steps the hot path really takes: each one it names is called
during a cycle (a step renamed or no longer on the path fails here), and the code is put back
as it was once the bench has run."""

from __future__ import annotations

import re

import pytest

from bench.hot_steps import MESSAGE, REPLY, STEPS, main


def test_every_step_is_timed_on_the_hot_path_and_put_back(
    capsys: pytest.CaptureFixture[str],
) -> None:
    before = [vars(owner).get(name) for owner, name, _ in STEPS]
    main(["--cycles", "3"])
    assert [vars(owner).get(name) for owner, name, _ in STEPS] == before
    out = capsys.readouterr().out
    rows = {
        label.strip(): (float(per_message), float(mean))
        for label, per_message, mean in re.findall(
            r"^  (.+?)\s+([\d.]+)\s+([\d.]+) µs\s+[\d.]+ µs\s+[\d.]+%$", out, re.M
        )
    }
    assert set(rows) == {label.strip() for _, _, label in STEPS}
    # The counted cycles only (bench.hot_path's warm-up opens 50 conversations, and its first
    # message has no reply): a message and its reply each, a commit each, and after the last
    # cycle the search index's catch-up with their six documents, in one commit.
    assert "3 messages and 3 replies timed" in out
    assert rows[MESSAGE][0] == rows[REPLY][0] == 1.0
    catch_ups = rows["search documents, in batches (after the cycles)"][0]
    assert catch_ups == pytest.approx(1 / 3, abs=0.01)
    assert rows["commit (the ORM's flush and SQLite's commit)"][0] == pytest.approx(2 + catch_ups)
    assert all(mean > 0 for _, mean in rows.values())


def test_the_steps_bench_refuses_no_cycles() -> None:
    with pytest.raises(SystemExit):
        main(["--cycles", "0"])
