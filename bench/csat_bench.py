"""CSAT on the dashboard (app.csat) over a large survey history.

Writes N resolved conversations (default 200,000) over 90 days into a fresh SQLite database, each
with its survey (85 % sent, 40 % of those answered, a third of answers with a comment), then
times, 20 times each, the whole CSAT report (totals, per account, office and adviser, the 50
newest comments) for 7 and 30 days as the destination manager and as an office manager, the
comments CSV of 30 days, and the asking itself: one resolution's survey check and row
(``surveys.on_resolved``) on that history.

Run: ``python -m bench.csat_bench [--conversations 200000]``.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from bench.figures import pct

NOW = datetime(2026, 9, 1, tzinfo=UTC)
FMT = "%Y-%m-%d %H:%M:%S.%f"


def build(path: Path, conversations: int) -> None:
    from app.db import Database, create_tables
    from app.demo import seed

    async def schema() -> None:
        db = Database(f"sqlite+aiosqlite:///{path}")
        await create_tables(db.engine)
        async with db.session() as session:
            await seed(session)
        await db.dispose()

    asyncio.run(schema())
    rng = random.Random(14)
    db = sqlite3.connect(path)
    accounts = [row[0] for row in db.execute("select id from account")]
    office_of = dict(db.execute("select id, office_id from account"))
    channel_of = dict(db.execute("select id, channel from account"))
    advisers: dict[int, list[int]] = {}
    for user_id, office in db.execute("select id, office_id from user where office_id is not null"):
        advisers.setdefault(office, []).append(user_id)
    db.execute(
        "insert into contact (id, destination_id, channel, external_id, name, handle, language,"
        " created_at) values (1, 1, 'webchat', 'v', '', '', 'fr', ?)",
        (NOW.strftime(FMT),),
    )
    start = NOW - timedelta(days=90)
    convs, surveys = [], []
    for cid in range(1, conversations + 1):
        account = rng.choice(accounts)
        office = office_of[account]
        at = start + timedelta(seconds=rng.randrange(90 * 86400))
        convs.append((cid, account, office, channel_of[account], f"t{cid}", at.strftime(FMT)))
        via = "widget" if rng.random() < 0.85 else ""
        answered = via and rng.random() < 0.4
        rating = rng.choice((1, 2, 3, 4, 4, 5, 5, 5)) if answered else None
        comment = "Très bien, merci" if answered and rng.random() < 0.33 else ""
        done = (at + timedelta(hours=rng.randrange(1, 100))).strftime(FMT) if answered else None
        surveys.append((cid, account, office, rng.choice(advisers[office]), channel_of[account],
                        via, at.strftime(FMT), (at + timedelta(days=7)).strftime(FMT), rating,
                        comment, done))  # fmt: skip
    db.executemany(
        "insert into conversation (id, destination_id, account_id, contact_id, office_id, channel,"
        " thread_key, subject, status, unread, created_at, last_message_at, preview, spam,"
        " visitor_ip, priority, reply_email, forget_after_resolved)"
        " values (?, 1, ?, 1, ?, ?, ?, '', 'RESOLVED', 0, ?, ?, '', 0, '', 0, '', 0)",
        [(c[0], c[1], c[2], c[3], c[4], c[5], c[5]) for c in convs],
    )
    db.executemany(
        "insert into survey (destination_id, conversation_id, account_id, office_id, adviser_id,"
        " channel, via, language, sent_at, expires_at, rating, comment, answered_at)"
        " values (1, ?, ?, ?, ?, ?, ?, 'fr', ?, ?, ?, ?, ?)",
        surveys,
    )
    db.commit()
    db.close()


async def measure(path: Path, runs: int) -> None:
    from sqlmodel import select

    from app import csat
    from app.dashboard import Filters, Period
    from app.db import Database
    from app.models import Conversation, Role, User

    db = Database(f"sqlite+aiosqlite:///{path}")
    async with db.session() as session:
        manager = (
            await session.exec(select(User).where(User.role == Role.DESTINATION_MANAGER))
        ).one()
        office_manager = User.model_validate(
            {**manager.model_dump(), "role": Role.OFFICE_MANAGER, "office_id": 1}
        )
    today = (NOW - timedelta(days=1)).date()

    async def timed(label: str, user: User, days: int, kind: str | None = None) -> None:
        period = Period.of(today - timedelta(days=days - 1), today, "Europe/Paris")
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            async with db.session() as session:
                found = await csat.report(
                    session, user, period, Filters(), "Europe/Paris", None if kind else 50
                )
                if kind:
                    csat.to_csv(found, kind)
            times.append((time.perf_counter() - started) * 1000)
        print(f"{label:<44} p50 {pct(times, 50):7.1f} ms   p95 {pct(times, 95):7.1f} ms"
              f"   ({found.total.sent:,} sent, {found.total.answered:,} answered)")  # fmt: skip

    await timed("CSAT report, 7 days, destination manager", manager, 7)
    await timed("CSAT report, 30 days, destination manager", manager, 30)
    await timed("CSAT report, 30 days, office manager", office_manager, 30)
    await timed("comments CSV, 30 days, destination manager", manager, 30, "comments")

    from types import SimpleNamespace
    from typing import Any

    from app import surveys
    from app.clock import Clock
    from app.settings import Settings

    # on_resolved reads only the clock and the settings (no Redis needed here).
    settings = Settings(demo=False, secret_key="bench-secret-" + "x" * 40)
    services: Any = SimpleNamespace(clock=Clock(NOW), settings=settings)
    times = []
    async with db.session() as session:
        conversation = await session.get(Conversation, 1)
        assert conversation is not None
    for _ in range(runs):
        started = time.perf_counter()
        async with db.session() as session:
            await surveys.on_resolved(services, session, conversation, manager)
            await session.rollback()
        times.append((time.perf_counter() - started) * 1000)
    print(f"{'asking: on_resolved (checks and row)':<44} p50 {pct(times, 50):7.1f} ms"
          f"   p95 {pct(times, 95):7.1f} ms")  # fmt: skip
    await db.dispose()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--conversations", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "csat.db"
        started = time.perf_counter()
        build(path, args.conversations)
        print(f"{args.conversations:,} surveys written in {time.perf_counter() - started:.1f} s"
              f" (today = {date.isoformat(NOW.date())})")  # fmt: skip
        asyncio.run(measure(path, args.runs))


if __name__ == "__main__":
    main()
