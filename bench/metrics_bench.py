"""Dashboard queries on a large history, against a naive recomputation from the messages.

Writes N conversations (default 1,000,000) over 90 days into a fresh SQLite database — each with
its visitor message, its reply and its recorded response turn — builds the per-day rollups as the
app's background pass does, then times, 20 times each: the per-account table for 30 days (with
the per-office rows and totals), the hour-of-week heat map, the CSV export of 30 days (the whole
body), the adviser table, the daily trend, the whole dashboard page (with the previous period's
totals), and the per-account table again with the last day read from its turns as today always
is; and, as the floor to beat, a naive recomputation of first response times from the messages.

Run: ``python -m bench.metrics_bench [--conversations 1000000]``.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

NOW = datetime(2026, 9, 1, tzinfo=UTC)


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
    rng = random.Random(5)
    db = sqlite3.connect(path)
    accounts = [row[0] for row in db.execute("select id from account")]
    office_of = dict(db.execute("select id, office_id from account"))
    users = [row[0] for row in db.execute("select id from user where office_id is not null")]
    channel_of = dict(db.execute("select id, channel from account"))
    start = NOW - timedelta(days=90)
    fmt = "%Y-%m-%d %H:%M:%S.%f"
    batch = 50_000
    next_id = 1
    while next_id <= conversations:
        convs, msgs, turns = [], [], []
        for cid in range(next_id, min(conversations, next_id + batch - 1) + 1):
            account = rng.choice(accounts)
            at = start + timedelta(seconds=rng.randrange(90 * 86400))
            wait = rng.lognormvariate(6, 1.5)
            answered = at + timedelta(seconds=wait)
            convs.append((cid, 1, account, 1, office_of[account], channel_of[account], f"t{cid}", "RESOLVED",
                          at.strftime(fmt), answered.strftime(fmt)))  # fmt: skip
            msgs.append(
                (
                    2 * cid - 1,
                    cid,
                    account,
                    "IN",
                    "VISITOR",
                    None,
                    f"e{cid}",
                    "Bonjour",
                    at.strftime(fmt),
                )
            )
            msgs.append((2 * cid, cid, account, "OUT", "ADVISER", rng.choice(users), None, "Bonjour !",
                         answered.strftime(fmt)))  # fmt: skip
            local = at + timedelta(hours=2)
            turns.append((cid, account, channel_of[account], office_of[account], 1, at.strftime(fmt),
                          answered.strftime(fmt), rng.choice(users), office_of[account], wait, wait * 0.6,
                          local.weekday() * 24 + local.hour, local.date().isoformat()))  # fmt: skip
        db.execute(
            "insert or ignore into contact (id, destination_id, channel, external_id, name, handle, language, created_at) values (1, 1, 'webchat', 'x', '', '', '', '2026-01-01 00:00:00')"
        )
        db.executemany(
            "insert into conversation (id, destination_id, account_id, contact_id, office_id, channel, thread_key,"
            " status, created_at, last_message_at, subject, unread, preview, spam, visitor_ip, priority,"
            " forget_after_resolved) values (?,?,?,?,?,?,?,?,?,?,'',0,'',0,'',0,0)",
            convs,
        )
        db.executemany(
            "insert into message (id, conversation_id, account_id, direction, author_kind, author_user_id,"
            " external_id, text, created_at, client_id, kind, delivery_status, delivery_error, split_thread,"
            " delivery_code, delivery_params) values (?,?,?,?,?,?,?,?,?,'','normal','SENT','',0,'','')",
            msgs,
        )
        db.executemany(
            "insert into responseturn (conversation_id, account_id, channel, office_on_duty_id, first, started_at,"
            " answered_at, responder_id, responder_office_id, wall_seconds, duty_seconds, hour_of_week,"
            " local_day) values (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            turns,
        )
        db.commit()
        next_id += batch
    db.execute("analyze")
    db.close()


NAIVE = """
select c.account_id, count(*), avg(strftime('%s', r.first_reply) - strftime('%s', v.first_in))
from conversation c
join (select conversation_id, min(created_at) first_in from message where direction = 'IN'
      group by conversation_id) v on v.conversation_id = c.id
left join (select conversation_id, min(created_at) first_reply from message
           where direction = 'OUT' and author_kind = 'ADVISER' group by conversation_id) r
  on r.conversation_id = c.id
where v.first_in >= ? and v.first_in < ?
group by c.account_id
"""


async def build_rollups(path: Path) -> int:
    """Marks and builds the rollups of every past day, as the app's background pass does."""
    from sqlmodel import select

    from app.db import Database
    from app.models import Destination
    from app.rollups import build_stale, mark_unmarked

    db = Database(f"sqlite+aiosqlite:///{path}")
    try:
        async with db.session() as session:
            destination = (await session.exec(select(Destination))).one()
        await mark_unmarked(db, destination)
        return await build_stale(db, destination, NOW.date())
    finally:
        await db.dispose()


async def timings(path: Path, repeat: int) -> dict[str, list[float]]:
    from sqlmodel import select

    from app import dashboard
    from app.dashboard import Filters, Period
    from app.db import Database
    from app.models import Destination, Role, User
    from app.rollups import build_stale, csv_chunks, day_changed

    db = Database(f"sqlite+aiosqlite:///{path}")
    results: dict[str, list[float]] = {
        "accounts, 30 days": [],
        "heat map, 30 days": [],
        "CSV, 30 days": [],
        "advisers, 30 days": [],
        "daily trend": [],
        "whole page": [],
        "accounts, last day live": [],
    }
    timezone = "Europe/Paris"
    period = Period.of(
        (NOW - timedelta(days=30)).date(), (NOW - timedelta(days=1)).date(), timezone
    )
    async with db.session() as session:
        manager = (
            await session.exec(select(User).where(User.role == Role.DESTINATION_MANAGER))
        ).one()
        destination = (await session.exec(select(Destination))).one()

    async def timed(name: str, work: Any) -> Any:
        async with db.session() as session:
            start = time.perf_counter()
            found = await work(session)
            results[name].append(time.perf_counter() - start)
        return found

    async def accounts(session: Any) -> Any:
        seen = await dashboard.scope(session, manager, Filters(), timezone)
        return dashboard.account_tables(seen, await dashboard.day_pieces(session, seen, period))

    async def heat(session: Any) -> Any:
        seen = await dashboard.scope(session, manager, Filters(), timezone)
        return await dashboard.heat(session, seen, period)

    async def export(session: Any) -> tuple[int, int]:
        """The body as the server streams it: its size and its number of lines."""
        seen = await dashboard.scope(session, manager, Filters(), timezone)
        chunks = await csv_chunks(session, seen.where, period.first, period.last, timezone)
        return sum(map(len, chunks)), sum(chunk.count(b"\n") for chunk in chunks)

    async def advisers(session: Any) -> Any:
        seen = await dashboard.scope(session, manager, Filters(), timezone)
        return dashboard.adviser_table(seen, await dashboard.day_pieces(session, seen, period))

    async def trend(session: Any) -> Any:
        seen = await dashboard.scope(session, manager, Filters(), timezone)
        return dashboard.trend(period, await dashboard.day_pieces(session, seen, period))

    async def page(session: Any) -> Any:
        current = await dashboard.report(session, manager, period, Filters(), timezone)
        await dashboard.totals(session, manager, period.previous(timezone), Filters(), timezone)
        return current

    for _ in range(repeat):
        tables = await timed("accounts, 30 days", accounts)
        assert tables.accounts and tables.total.conversations > 0
        cells = await timed("heat map, 30 days", heat)
        assert sum(n for row in cells for n, _ in row) >= tables.total.conversations
        size, lines = await timed("CSV, 30 days", export)
        assert lines >= tables.total.conversations and size >= 60 * lines  # two timestamps a row
        await timed("advisers, 30 days", advisers)
        await timed("daily trend", trend)
        await timed("whole page", page)
    # Today is always read from its turns: the same table with the period's last day stale.
    async with db.session() as session:
        await day_changed(session, destination.id or 0, period.last.isoformat())
        await session.commit()
    for _ in range(repeat):
        live = await timed("accounts, last day live", accounts)
        assert live.total.conversations == tables.total.conversations
    await build_stale(db, destination, NOW.date())  # as the background pass would
    await db.dispose()
    return results


def naive(path: Path, repeat: int) -> list[float]:
    db = sqlite3.connect(path)
    start_at = (NOW - timedelta(days=30)).strftime("%Y-%m-%d %H:%M:%S")
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        db.execute(NAIVE, (start_at, NOW.strftime("%Y-%m-%d %H:%M:%S"))).fetchall()
        out.append(time.perf_counter() - start)
    db.close()
    return out


def p95(values: list[float]) -> float:
    return sorted(values)[max(0, round(0.95 * len(values)) - 1)]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument(
        "--database", type=Path, help="keep the history in this file and reuse it when it exists"
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        path = args.database or Path(tmp) / "metrics.db"
        if not path.exists():
            start = time.perf_counter()
            build(path, args.conversations)
            print(
                f"metrics: {args.conversations:,} conversations written in {time.perf_counter() - start:.0f} s"
            )
            start = time.perf_counter()
            days = asyncio.run(build_rollups(path))
            print(f"metrics: rollups of {days} days built in {time.perf_counter() - start:.1f} s")
        results = asyncio.run(timings(path, args.repeat))
        floor = naive(path, max(3, args.repeat // 5))
    for name, values in results.items():
        print(
            f"  {name:20} p50 {statistics.median(values) * 1000:8.1f} ms   p95 {p95(values) * 1000:8.1f} ms"
        )
    print(f"  naive recomputation from messages: p50 {statistics.median(floor) * 1000:8.1f} ms")
    for name in ("accounts, 30 days", "heat map, 30 days", "CSV, 30 days"):
        ratio = statistics.median(floor) / statistics.median(results[name])
        verdict = "met" if p95(results[name]) <= 0.2 else "NOT met"
        print(f"  {name}: {ratio:.1f}x faster than the naive recomputation; p95 ≤ 200 ms {verdict}")


if __name__ == "__main__":
    main()
