"""The garbage collector tuned for a long-running worker.

Measured under the chat bench (200 visitors, 20 advisers, one worker): CPython's full
collections came every few seconds and each stopped the event loop for 100–150 ms, walking the
hundreds of thousands of objects the worker made at start-up (modules, ORM mappers, compiled
templates, the rota) and keeps for its life. That pause was a large part of the latency tail.

Once the worker is up, :func:`settle` moves what exists then into the collector's permanent
generation (``gc.freeze``), which full collections no longer walk, and makes the young
generation larger so short-lived request objects are collected less often, in larger batches.
Reference counting still frees almost everything at once; only cycles wait for a collection.

The middle generation is collected every 3 young collections instead of CPython's 10: each of
its collections walks every object that survived the young ones since the last, so every 10
meant pauses about three times as long for the same work (an object is walked there once
either way) — under the chat bench, after its 220 sockets opened, one collection of 40–52 ms
(the first messages' worst latency) where each now takes 15–21 ms.
"""

from __future__ import annotations

import gc

# Young-generation threshold: allocations minus deallocations between collections of
# generation 0 (CPython's default is 700).
YOUNG = 10_000
# Young collections between two collections of generation 1 (CPython's default is 10). The
# oldest generation's threshold keeps its default.
MIDDLE = 3

_settled = {"done": False}


def settle() -> None:
    """Once per process, when start-up is over: collect, then freeze what is left."""
    if _settled["done"]:
        return
    _settled["done"] = True
    gc.collect()
    gc.freeze()
    _, _, old = gc.get_threshold()
    gc.set_threshold(YOUNG, MIDDLE, old)
