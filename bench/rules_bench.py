"""Keyword rules: what they add to a visitor message's ingest, and what a trial costs.

In one process, on a real embedded Redis and a temporary SQLite database with the demo
destination and RULES active rules of WORDS words each (five languages, some phrases and
prefixes):

- the rules applied to one message (``rule_ingest.apply``: read the active rules, match, count),
  p50/p99, against a floor measured in the same run: the same message only folded
  (``textnorm.fold``) and looked up with ``in`` for every word, no SQL;
- a whole chat message's ingest with the rules on, against the same ingest with none active
  (the ratio is what the rules cost a visitor);
- the 30-day trial over MESSAGES stored visitor messages.

Run: ``python -m bench.rules_bench [--rules 50] [--words 20] [--messages 5000]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import update
from sqlmodel import col, select

from app import rule_ingest, rule_trial
from app.db import create_tables
from app.demo import seed
from app.embedded_redis import EmbeddedRedis
from app.inbox import Inbox
from app.models import Conversation, Role, Rule, User
from app.rule_match import parse
from app.services import Services
from app.settings import Settings
from app.textnorm import fold
from bench.figures import pct
from connectors.base import Author, Channel, InboundMessage

START = datetime(2026, 7, 21, 8, 0, tzinfo=UTC)
STEMS = ["marée", "tide", "Gezeiten", "getij", "marea", "vélo*", "bike rental", "Fahrrad*",
         "phare", "lighthouse", "Leuchtturm", "vuurtoren", "faro", "plage", "beach", "Strand",
         "musée", "museum", "horaires", "opening hours"]  # fmt: skip
TEXT = (
    "Bonjour ! Nous arrivons demain soir avec deux enfants et nous aimerions savoir si le "
    "château est ouvert le dimanche, s'il faut réserver la visite guidée, et où se garer près "
    "du port. Merci beaucoup pour votre aide, et bonne soirée à toute l'équipe de l'office."
)


def fmt(values: list[float]) -> str:
    return f"p50 {pct(values, 50) * 1000:8.3f} ms   p99 {pct(values, 99) * 1000:8.3f} ms"


def chat(visitor: str, n: int, text: str) -> InboundMessage:
    return InboundMessage(
        channel=Channel.WEBCHAT, account="chat-port-argent", external_id=f"{visitor}:{n}",
        thread_key=visitor, author=Author(external_id=visitor), text=text,
        received_at=START + timedelta(milliseconds=40 * n),
    )  # fmt: skip


async def run(rules: int, words: int, messages: int) -> None:
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
            await measure(services, rules, words, messages)
        finally:
            await services.close()
            redis.stop()


async def measure(services: Services, rules: int, words: int, messages: int) -> None:
    await create_tables(services.db.engine)
    async with services.db.session() as session:
        await seed(session)
        every: list[str] = []
        for r in range(rules):
            listed = [
                f"{STEMS[(r + w) % len(STEMS)]}{'' if w < len(STEMS) else w}" for w in range(words)
            ]
            every.extend(listed)
            session.add(
                Rule(
                    destination_id=1,
                    name=f"Rule {r}",
                    key=f"rule {r}",
                    priority=r % 7 == 0,
                    words=json.dumps(listed),
                    active=False,
                    position=r,
                    created_at=START,
                    updated_at=START,
                )
            )
        await session.commit()
    first = await Inbox(services).ingest(chat("first", 0, "hello"))
    async with services.db.session() as session:
        conversation = await session.get(Conversation, first.conversation_id)
        assert conversation is not None
    folded_words = [parse(w).text for w in every]

    async def set_active(on: bool) -> None:
        async with services.db.session() as session:
            await session.exec(update(Rule).values(active=on))
            await session.commit()

    # The floor: the message folded and every word looked up, no SQL, no regular expression.
    floor = []
    for _ in range(2000):
        began = time.perf_counter()
        folded = fold(TEXT)
        _ = [w in folded for w in folded_words]
        floor.append(time.perf_counter() - began)
    await set_active(True)
    applied = []
    async with services.db.session() as session:
        for _ in range(2000):
            began = time.perf_counter()
            await rule_ingest.apply(session, conversation, "", TEXT, START, route=False)
            applied.append(time.perf_counter() - began)
        await session.rollback()
    print(f"{rules} active rules x {words} words, one 280-character message (no match):")
    print(f"  rules at ingest (read + match): {fmt(applied)}")
    print(f"  floor (fold + `in` per word):   {fmt(floor)}")
    print(f"  ratio p50: {pct(applied, 50) / pct(floor, 50):.2f}x the floor")

    inbox = Inbox(services)
    timings: dict[bool, list[float]] = {True: [], False: []}
    for n in range(1, 601):
        on = n % 100 < 50
        if n % 100 in (0, 50):
            await set_active(on)
        began = time.perf_counter()
        await inbox.ingest(chat(f"v{n}", n, TEXT))
        timings[on].append(time.perf_counter() - began)
    print("whole chat message ingest (SQLite + Redis), a new conversation each:")
    print(f"  with {rules} active rules: {fmt(timings[True])}")
    print(f"  with no active rule:     {fmt(timings[False])}")
    print(f"  ratio p50: {pct(timings[True], 50) / pct(timings[False], 50):.2f}x")

    for n in range(600, 600 + messages):
        if n % 500 == 0:
            print(f"  storing messages for the trial… {n - 600}/{messages}", flush=True)
        await inbox.ingest(chat(f"t{n % 400}", n, TEXT if n % 10 else "Is the lighthouse open?"))
    async with services.db.session() as session:
        manager = (
            await session.exec(select(User).where(col(User.role) == Role.DESTINATION_MANAGER))
        ).one()
    trials = []
    for _ in range(5):
        began = time.perf_counter()
        result = await rule_trial.trial(services, manager, ["lighthouse", "phare", "Leuchtturm"])
        trials.append(time.perf_counter() - began)
    print(f"trial over {messages + 600} visitor messages: {fmt(trials)} "
          f"(matched {result.matched} of {result.conversations} conversations)")  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", type=int, default=50)
    parser.add_argument("--words", type=int, default=20)
    parser.add_argument("--messages", type=int, default=5000)
    args = parser.parse_args(argv)
    asyncio.run(run(args.rules, args.words, args.messages))


if __name__ == "__main__":
    main()
