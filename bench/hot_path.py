"""The chat's hot path in one process: a worker's time per message, against its SQL alone.

Runs the real code, as the visitor socket, the reply API and the outbox call it, ``--cycles``
times on a seeded demo database (SQLite in a temporary directory, embedded Redis), 50 visitors
writing in turn (their first messages are a warm-up, not counted):

- a visitor's follow-up message: ``Inbox.ingest``;
- an adviser's reply to it: ``actions.reply``;
- the reply's delivery, when the outbox has it to send: one dispatch. A chat reply has none
  since 2026-12-06 (it is sent once stored: the event announcing it is how it reaches the
  visitor); ``--addressed`` gives the visitors an e-mail address, which queues their replies
  (the outbox then decides between the chat and a mail, app.offline_mail);
- every ``INDEX_EVERY`` cycles, the search index's catch-up with the messages stored since the
  last one (app.search_backlog: on SQLite a message's document is written after its
  transaction, in batches), timed apart and printed per cycle and per document.

The floor is the database's own work for the same cycle: the SQL statements the last cycle sent,
with their parameters, run again on the bare ``sqlite3`` driver on a copy of the database taken
just before that cycle (its statements in one transaction, rolled back so that the same rows can
be written again; the app's commits are not in it). The ratio is what the application adds around its SQL: the ORM, the events, Redis.
No HTTP and no websocket: ``bench.chat_latency`` measures those, this isolates the worker's time
per message from the noise of a load test (a run of it varies by ±5 %, one of the chat bench
by ±20 %).

Run: ``python -m bench.hot_path [--cycles 1500]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlmodel import col, select

from app import actions, search_backlog, sqlite_writes
from app.channels import load_connectors
from app.embedded_redis import EmbeddedRedis
from app.inbox import Inbox
from app.models import Account, Conversation, DeliveryStatus, User
from app.outbox import Dispatcher
from app.services import Services
from bench.sql_statements import ACCOUNT, leave_an_address, seeded_services
from connectors.webchat.frames import VisitorMessageFrame, to_inbound

VISITORS = 50
# Cycles between two catch-ups of the search index (app.search_backlog): a serving worker runs
# one every half second, some fifty cycles at this bench's pace.
INDEX_EVERY = 50
STEPS = ("message", "reply", "delivery")


@dataclass
class Capture:
    """The statements (with their driver parameters) an engine runs while ``on``."""

    on: bool = False
    statements: list[tuple[str, Any, bool]] = field(default_factory=list)

    def seen(
        self, _conn: Any, _cursor: Any, statement: str, params: Any, _ctx: Any, many: bool
    ) -> None:
        if self.on:
            self.statements.append((statement, params, many))

    @contextlib.contextmanager
    def capturing(self) -> Iterator[None]:
        self.statements, self.on = [], True
        try:
            yield
        finally:
            self.on = False


async def _cycles(
    services: Services, cycles: int, database: Path, snapshot: Path, addressed: bool
) -> tuple[dict[str, list[float]], Capture, list[tuple[float, int]]]:
    """Times each step of each cycle, and each catch-up of the search index (every
    ``INDEX_EVERY`` cycles and after the last); the last cycle's statements are captured, and
    the database copied to ``snapshot`` just before it (where its rows are not written yet)."""
    inbox = Inbox(services)
    await load_connectors(services)

    def inbound(client_id: str, visitor: str) -> Any:
        frame = VisitorMessageFrame(client_id=client_id, text=f"Bonjour {client_id}, le phare ?")
        return to_inbound(
            frame,
            account=ACCOUNT,
            visitor_id=visitor,
            received_at=services.clock.now(),
            language="fr",
        )

    opened = await inbox.ingest(inbound("w0", "v-warm-up"), live=True)
    async with services.db.session() as session:
        conversation = await session.get(Conversation, opened.conversation_id)
        assert conversation is not None
        user = (
            await session.exec(
                select(User).where(User.office_id == conversation.office_id).order_by(col(User.id))
            )
        ).first()
        account = await session.get(Account, conversation.account_id)
    assert user is not None and account is not None
    dispatcher = Dispatcher(services, account.destination_id, "bench")
    capture = Capture()
    event.listen(services.db.engine.sync_engine, "before_cursor_execute", capture.seen)
    times: dict[str, list[float]] = {step: [] for step in STEPS}
    indexed: list[tuple[float, int]] = []  # (seconds, documents) of each catch-up
    try:
        for i in range(VISITORS + cycles):
            counted = i >= VISITORS  # the first message of each visitor opens a conversation
            last = i == VISITORS + cycles - 1
            if last:
                _copy(database, snapshot)
            with capture.capturing() if last else contextlib.nullcontext():
                # The visitor socket's and the reply API's units of work run as "quick" ones.
                started = time.perf_counter()
                with sqlite_writes.quick():
                    stored = await inbox.ingest(inbound(f"c{i}", f"v{i % VISITORS}"), live=True)
                if addressed and not counted:
                    await leave_an_address(services, stored.conversation_id)
                stored_at = time.perf_counter()
                with sqlite_writes.quick():
                    reply = await actions.reply(services, user, stored.conversation_id, f"Oui {i}")
                replied_at = time.perf_counter()
                assert reply.id is not None
                if reply.delivery_status == DeliveryStatus.PENDING:  # queued for the outbox
                    await dispatcher._handle(reply.id)
                delivered_at = time.perf_counter()
            if counted:
                times["message"].append(stored_at - started)
                times["reply"].append(replied_at - stored_at)
                times["delivery"].append(delivered_at - replied_at)
            done = i + 1 - VISITORS  # counted cycles done
            if done == 0:  # the warm-up's documents: not the counted cycles' work
                await _catch_up(services)
            elif done % INDEX_EVERY == 0 or last:
                began = time.perf_counter()
                written = await _catch_up(services)
                indexed.append((time.perf_counter() - began, written))
    finally:
        event.remove(services.db.engine.sync_engine, "before_cursor_execute", capture.seen)
    return times, capture, indexed


async def _catch_up(services: Services) -> int:
    """The search index's catch-up, as a serving worker runs it twice a second."""
    async with services.db.session() as session:
        return await search_backlog.catch_up(session)


def _copy(source: Path, target: Path) -> None:
    with (
        contextlib.closing(sqlite3.connect(source)) as read,
        contextlib.closing(sqlite3.connect(target)) as write,
    ):
        read.backup(write)


def _floor(path: Path, statements: list[tuple[str, Any, bool]], cycles: int) -> list[float]:
    """Seconds per cycle for the captured statements on the bare driver (see the module doc)."""
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.execute("PRAGMA foreign_keys=ON")
        cursor = connection.cursor()
        seconds = []
        for _ in range(cycles):
            started = time.perf_counter()
            cursor.execute("BEGIN")
            for statement, params, many in statements:
                if many:
                    cursor.executemany(statement, params)
                else:
                    cursor.execute(statement, params)
                cursor.fetchall()
            seconds.append(time.perf_counter() - started)
            cursor.execute("ROLLBACK")
        return seconds
    finally:
        connection.close()


def _ms(values: list[float]) -> str:
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"mean {statistics.fmean(values) * 1000:6.2f} ms   p99 {p99 * 1000:6.2f} ms"


async def _run(cycles: int, addressed: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp, EmbeddedRedis(Path(tmp), persist=False) as redis:
        async with seeded_services(Path(tmp), redis.url) as services:
            snapshot = Path(tmp) / "floor.db"
            database = Path(tmp) / "concierge.db"
            times, capture, indexed = await _cycles(services, cycles, database, snapshot, addressed)
        floor = _floor(snapshot, capture.statements, cycles)
    total = [sum(step) for step in zip(*times.values(), strict=True)]
    who = "visitors who left an e-mail address" if addressed else "visitors without an address"
    print(f"chat hot path in one process: {cycles} cycles (SQLite, embedded Redis), {who}")
    for step in STEPS:
        if step == "delivery" and not addressed:
            print("  delivery  none: a chat reply is sent once stored (nothing queued)")
            continue
        print(f"  {step:<9} {_ms(times[step])}")
    print(f"  cycle     {_ms(total)}   ({1 / statistics.fmean(total):.0f} cycles/s)")
    seconds, documents = sum(t for t, _ in indexed), sum(n for _, n in indexed)
    print(
        f"  search    {len(indexed)} catch-ups of the index, {documents} documents:"
        f" {seconds / len(indexed) * 1000:.2f} ms each, {seconds / max(1, documents) * 1e6:.0f} µs a"
        f" document, {seconds / cycles * 1000:.2f} ms a cycle (not in the cycle's figures)"
    )
    print(f"  floor: the cycle's {len(capture.statements)} SQL statements on the bare driver")
    print(f"            {_ms(floor)}")
    ratio = statistics.fmean(total) / statistics.fmean(floor)
    print(f"  ratio cycle / floor (means): {ratio:.1f}x")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=1500, help="counted cycles")
    parser.add_argument(
        "--addressed",
        action="store_true",
        help="visitors who left an e-mail address: their replies go through the outbox",
    )
    args = parser.parse_args(argv)
    if args.cycles < 1:
        parser.error("--cycles must be at least 1")
    asyncio.run(_run(args.cycles, args.addressed))


if __name__ == "__main__":
    main()
