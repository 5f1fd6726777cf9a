"""The worker's garbage collector after start-up (app/gc_tuning.py), in a process of its own:
what existed at start-up is frozen out of full collections, cycles made later are still
collected, and settling twice changes nothing."""

from __future__ import annotations

import json
import subprocess
import sys

SCRIPT = """
import gc, json
from app import gc_tuning

class Node:
    pass

kept = [Node() for _ in range(1000)]  # start-up's objects
gc_tuning.settle()
frozen = gc.get_freeze_count()
gc_tuning.settle()
again = gc.get_freeze_count()
for _ in range(100):  # garbage made while serving: cycles only a collection frees
    a, b = Node(), Node()
    a.other, b.other = b, a
del a, b
print(json.dumps({
    "frozen": frozen, "again": again, "threshold": gc.get_threshold(),
    "collected": gc.collect(), "young": gc_tuning.YOUNG, "middle": gc_tuning.MIDDLE,
}))
"""


def test_settle_freezes_start_up_once_and_later_cycles_are_still_collected() -> None:
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True, timeout=60
    )
    seen = json.loads(out.stdout)
    assert seen["frozen"] >= 1000  # the start-up objects at least
    assert seen["again"] == seen["frozen"]  # once per process
    assert seen["threshold"][0] == seen["young"] > 700
    # The middle generation collected more often than CPython's 10, in shorter pauses.
    assert seen["threshold"][1] == seen["middle"] < 10
    assert seen["threshold"][2] == 10  # the oldest's threshold left as CPython has it
    assert seen["collected"] >= 200  # the 100 pairs made after settling
