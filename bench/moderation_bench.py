"""Moderation under a flood: what a manager's tools cost and what the advisers see after.

In one process, on a real embedded Redis and a temporary SQLite database with the demo
destination: 515 conversations from one spammer's widget (the probe's flood) among 20 real
visitors' chats, then

- the chat socket's block check (``moderation.refusal``) with BLOCKS blocks in force: p50/p99
  per check, and the Redis round trips per check;
- marking the flood as spam with the bulk action, 200 at a time: conversations per second;
- the advisers' first page of 50 before and after: how many real conversations it shows;
- a blocked e-mail sender's message stored into spam: p50 per ingest.

Run: ``python -m bench.moderation_bench [--blocks 5000] [--flood 515]``.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlmodel import select

from app import moderation
from app.bulk import run_bulk
from app.db import create_tables
from app.demo import seed
from app.embedded_redis import EmbeddedRedis
from app.inbox import Inbox
from app.models import Account, Block, Role, User
from app.repository import list_page
from app.services import Services
from app.settings import Settings
from bench.figures import pct
from connectors.base import Author, Channel, InboundMessage

START = datetime(2026, 7, 21, 8, 0, tzinfo=UTC)


def fmt(values: list[float]) -> str:
    return f"p50 {pct(values, 50) * 1000:7.3f} ms   p99 {pct(values, 99) * 1000:7.3f} ms   (n={len(values)})"


def chat(visitor: str, n: int, text: str) -> InboundMessage:
    return InboundMessage(
        channel=Channel.WEBCHAT, account="chat-port-argent", external_id=f"{visitor}:{n}",
        thread_key=visitor, author=Author(external_id=visitor), text=text,
        received_at=START + timedelta(milliseconds=40 * n), metadata={"ip": "203.0.113.66"},
    )  # fmt: skip


async def run(blocks: int, flood: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        redis = EmbeddedRedis(Path(tmp) / "redis", persist=False)
        redis.start()
        settings = Settings(
            redis_url=redis.url,
            database_url=f"sqlite+aiosqlite:///{tmp}/bench.db",
            secret_key="bench-" + "x" * 40,
            var_dir=Path(tmp),
            demo=False,
            clock_start=START,
        )
        services = Services.create(settings)
        try:
            await create_tables(services.db.engine)
            async with services.db.session() as session:
                await seed(session)
                account = (
                    await session.exec(select(Account).where(Account.key == "chat-port-argent"))
                ).one()
                manager = (
                    await session.exec(select(User).where(User.role == Role.DESTINATION_MANAGER))
                ).one()
                adviser = (
                    await session.exec(
                        select(User).where(User.office_id == account.office_id).limit(1)
                    )
                ).one()
            inbox = Inbox(services)
            # The real questions first, then the flood on top of them.
            for n in range(20):
                await inbox.ingest(chat(f"real-{n}", n, "Is the ferry running?"))
            spam_ids = []
            for n in range(flood):
                result = await inbox.ingest(chat(f"spam-{n}", 20 + n, "CHEAP WATCHES"))
                spam_ids.append(result.conversation_id)
            before = await first_page_real(services, adviser)

            # Blocks in force, as many as asked, then the socket's check.
            now = services.clock.now()
            async with services.db.session() as session:
                for n in range(blocks):
                    session.add(
                        Block(destination_id=account.destination_id, kind="contact",
                              channel="webchat", value=f"blocked-{n}", created_at=now)
                    )  # fmt: skip
                await session.commit()
            await moderation.resync(services, account.destination_id)
            calls_before = await commands(services)
            checks = []
            for n in range(2000):
                visitor = f"blocked-{n}" if n % 2 else f"visitor-{n}"
                t0 = time.perf_counter()
                await moderation.refusal(services, account, visitor, f"198.51.100.{n % 250}")
                checks.append(time.perf_counter() - t0)
            trips = (await commands(services) - calls_before - 1) / len(checks)

            t0 = time.perf_counter()
            for i in range(0, len(spam_ids), 200):
                await run_bulk(services, manager, spam_ids[i : i + 200], "spam")
            marking = time.perf_counter() - t0
            after = await first_page_real(services, adviser)

            # A blocked e-mail sender writes: stored, into spam.
            async with services.db.session() as session:
                session.add(
                    Block(destination_id=account.destination_id, kind="contact", channel="email",
                          value="offers@spam.example", created_at=now)
                )  # fmt: skip
                await session.commit()
            ingests = []
            for n in range(200):
                message = InboundMessage(
                    channel=Channel.EMAIL, account="mail-port-argent",
                    external_id=f"<offer-{n}@spam.example>", thread_key=f"<offer-{n}@spam.example>",
                    author=Author(external_id="offers@spam.example"), text="buy",
                    received_at=START + timedelta(seconds=n),
                )  # fmt: skip
                t0 = time.perf_counter()
                await inbox.ingest(message)
                ingests.append(time.perf_counter() - t0)
        finally:
            await services.close()
            redis.stop()
    print(f"block check (refusal), {blocks} blocks in force:  {fmt(checks)}")
    print(f"  Redis commands per check: {trips:.2f}")
    print(f"mark {flood} conversations as spam (bulk, 200 a time): {marking:.2f} s"
          f"  ({flood / marking:.0f} conversations/s)")  # fmt: skip
    print(f"adviser's first page of 50: real conversations {before} before, {after} after")
    print(f"blocked e-mail sender's message stored into spam: {fmt(ingests)}")


async def first_page_real(services: Services, adviser: User) -> int:
    async with services.db.session() as session:
        rows = await list_page(session, adviser, "open", 50)
    return sum(1 for c in rows[:50] if c.thread_key.startswith("real-"))


async def commands(services: Services) -> int:
    info = await services.redis.info("stats")
    return int(info["total_commands_processed"])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", type=int, default=5000)
    parser.add_argument("--flood", type=int, default=515)
    args = parser.parse_args(argv)
    asyncio.run(run(args.blocks, args.flood))


if __name__ == "__main__":
    main()
