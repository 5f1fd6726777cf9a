"""Where the chat's hot path spends its time: ``bench.hot_path`` with its steps timed.

Runs :mod:`bench.hot_path` (same seeded database, same cycles of a visitor's message and an
adviser's reply) with each step of the two wrapped in a timer, and prints per step its calls per
message and its mean wall time per call, and per cycle — the measure a profiler could not give
here: a sampling profiler (py-spy, ``--nonblocking``) put 8 % of the cycle in the events' JSON,
which take 13–15 µs each (under 2 %), and in blocking mode a tenth of it in ``getpid`` (160 ns a
call); ``cProfile`` multiplies the cost of small Python calls several times over.

Only the counted cycles are timed, as ``bench.hot_path`` counts them: not its warm-up (a
first message for each of its visitors, which opens their conversation, and its reply).

Steps nest: a message's commit includes the flush of its objects and SQLite's own commit; the
statements run past the ORM (``db.plain_rows``, ``db.plain_write``) run inside the other steps;
a step that waits for Redis counts its wait. The lines do not add up to the cycle. A wrapper adds
about a microsecond a call, so the cycle is a little slower than under ``bench.hot_path`` alone.

Run: ``python -m bench.hot_steps [--cycles 1500]``.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import inspect
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app import (
    actions,
    db,
    inbox,
    message_insert,
    recovery,
    repository,
    rule_ingest,
    search_backlog,
    spam,
    sqlite_writes,
)
from app.realtime import Hub
from bench import hot_path

MESSAGE = "message (Inbox._ingest_once)"
REPLY = "reply (actions._reply)"

# (owner, attribute, label): where the hot path looks each step up when it calls it.
STEPS: list[tuple[Any, str, str]] = [
    (inbox.Inbox, "_ingest_once", MESSAGE),
    (actions, "_reply", REPLY),
    (repository, "account_for_ingest", "the account and its destination read"),
    (inbox, "already_stored", "already stored? (dedupe)"),
    (inbox, "find_contact", "the visitor's contact"),
    (inbox, "_conversation", "their conversation"),
    (spam, "screen", "spam screen"),
    (rule_ingest, "apply", "keyword rules"),
    (message_insert, "add", "message written (row, relay; on PostgreSQL its search document)"),
    (inbox, "open_turn", "response turn opened"),
    (actions, "check_conversation", "reply: the conversation read, permission"),
    (actions, "close_turn", "reply: response turn closed"),
    (recovery, "hold", "events held for recovery"),
    (repository, "conversation_out", "the conversation's line built"),
    (repository, "message_out", "the message's event built"),
    (repository, "with_presence", "the line's visitor presence"),
    (AsyncSession, "commit", "commit (the ORM's flush and SQLite's commit)"),
    (sqlite_writes._InlineAdaptedConnection, "commit", "  of which SQLite's own commit"),
    (Hub, "publish_many", "events published (one Redis script)"),
    (db, "plain_rows", "statements read past the ORM"),
    (db, "plain_write", "statements written past the ORM"),
    (search_backlog, "catch_up", "search documents, in batches (after the cycles)"),
]


@dataclass
class Totals:
    calls: int = 0
    seconds: float = 0.0


@dataclass
class _Warmup:
    """The messages still to come before the counted cycles; none left: the steps count."""

    messages: int
    over: bool = False

    def message_starts(self) -> None:
        if self.messages:
            self.messages -= 1
        else:
            self.over = True


def _timed(
    original: Callable[..., Any], totals: Totals, warmup: _Warmup, starts_message: bool
) -> Callable[..., Any]:
    def done(start: float) -> None:
        if warmup.over:
            totals.calls += 1
            totals.seconds += time.perf_counter() - start

    if inspect.iscoroutinefunction(original):

        @functools.wraps(original)
        async def timed_async(*args: Any, **kwargs: Any) -> Any:
            if starts_message:
                warmup.message_starts()
            start = time.perf_counter()
            try:
                return await original(*args, **kwargs)
            finally:
                done(start)

        return timed_async

    @functools.wraps(original)
    def timed(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            done(start)

    return timed


@contextlib.contextmanager
def steps_timed() -> Iterator[dict[str, Totals]]:
    """Each of :data:`STEPS` timed while the block runs, in ``bench.hot_path``'s counted cycles
    (after its warm-up: a message of its own, then a message and a reply for each visitor), and
    put back after."""
    found: dict[str, Totals] = {}
    warmup = _Warmup(messages=1 + hot_path.VISITORS)
    # Each step's own attribute, None when inherited (then only the wrapper is removed after).
    originals = [(owner, name, vars(owner).get(name)) for owner, name, _ in STEPS]
    try:
        for owner, name, label in STEPS:
            found[label] = Totals()
            timed = _timed(getattr(owner, name), found[label], warmup, label == MESSAGE)
            setattr(owner, name, timed)
        yield found
    finally:
        for owner, name, original in originals:
            if original is None:
                with contextlib.suppress(AttributeError):
                    delattr(owner, name)
            else:
                setattr(owner, name, original)


def report(found: dict[str, Totals]) -> None:
    messages = found[MESSAGE].calls
    cycle = (found[MESSAGE].seconds + found[REPLY].seconds) / max(1, messages)
    print(f"the steps of a cycle: {messages} messages and {found[REPLY].calls} replies timed")
    print(f"  {'step':55s} {'per message':>11s} {'mean':>10s} {'per cycle':>10s} {'share':>6s}")
    for label, totals in found.items():
        if not totals.calls:
            continue
        mean = totals.seconds / totals.calls * 1e6
        per_cycle = totals.seconds / max(1, messages)
        print(
            f"  {label:55s} {totals.calls / max(1, messages):11.2f} {mean:7.1f} µs"
            f" {per_cycle * 1e6:7.1f} µs {per_cycle / cycle:6.1%}"
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=1500, help="counted cycles")
    args = parser.parse_args(argv)
    if args.cycles < 1:
        parser.error("--cycles must be at least 1")
    with steps_timed() as found:
        hot_path.main(["--cycles", str(args.cycles)])
    report(found)


if __name__ == "__main__":
    main()
