"""Rota lookups and chat routing, against floors measured in the same run.

- ``on_duty`` lookups per second on a one-year rota of 10 offices with 50, 500 and 5,000
  overrides (the goal: at least 100,000/s with 500, and cost growing with the logarithm of the
  number of segments), beside a bare ``bisect`` over as many sorted instants;
- ``route(account, at)`` per second on the rota with 500 overrides (own hours, then duty);
- ingest → assigned for new chat conversations (p50, p99): a real embedded Redis, SQLite, the demo
  destination routed by the demo rota, an adviser online.

Run: ``python -m bench.rota_bench``.
"""

from __future__ import annotations

import asyncio
import bisect
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.figures import pct
from rota import Schedule, build

YEAR_START = datetime(2026, 1, 1, tzinfo=UTC)
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")


def one_year_rota(offices: int, overrides: int, seed: int = 7) -> Schedule:
    rng = random.Random(seed)
    ids = [f"office-{i}" for i in range(offices)]
    extra = []
    for _ in range(overrides):
        start = YEAR_START + timedelta(minutes=rng.randrange(365 * 24 * 60))
        extra.append(
            {
                "start": start.isoformat(),
                "end": (start + timedelta(minutes=rng.choice((60, 120, 240, 600)))).isoformat(),
                "office": rng.choice([*ids, None]),
                "priority": rng.randrange(3),
            }
        )
    rota = build(
        {
            "offices": [
                {
                    "id": i,
                    "accounts": [f"chat-{i}"],
                    "hours": {d: ["09:00-17:00"] for d in WEEKDAYS},
                }
                for i in ids
            ],
            "duty": {
                "week": {
                    **{d: ["17:00-22:00"] for d in WEEKDAYS},
                    "sat": ["12:00-22:00"],
                    "sun": ["10:00-22:00"],
                },
                "holiday": ["10:00-22:00"],
            },
            "rotation": {
                "turn": "window",
                "members": [{"office": i, "weight": 1 + n % 2} for n, i in enumerate(ids)],
            },
            "overrides": extra,
        }
    )
    return Schedule(rota)


def lookups_per_second(schedule: Schedule, instants: list[datetime]) -> float:
    schedule.on_duty(instants[0])  # compile the year first: we time lookups, not compilation
    start = time.perf_counter()
    for at in instants:
        schedule.on_duty(at)
    return len(instants) / (time.perf_counter() - start)


def routes_per_second(schedule: Schedule, instants: list[datetime]) -> float:
    accounts = [f"chat-office-{i}" for i in range(10)]
    schedule.route(accounts[0], instants[0])
    start = time.perf_counter()
    for n, at in enumerate(instants):
        schedule.route(accounts[n % 10], at)
    return len(instants) / (time.perf_counter() - start)


def bisect_floor(count: int, probes: list[int]) -> float:
    points = sorted(random.Random(1).sample(range(365 * 24 * 3600), count))
    start = time.perf_counter()
    for probe in probes:
        bisect.bisect_right(points, probe)
    return len(probes) / (time.perf_counter() - start)


async def ingest_to_assigned(samples: int = 300) -> list[float]:
    from app.db import create_tables
    from app.demo import seed
    from app.embedded_redis import EmbeddedRedis
    from app.inbox import Inbox
    from app.keys import online
    from app.models import Conversation, ConversationStatus
    from app.services import Services
    from app.settings import Settings
    from connectors.base import Author, Channel, InboundMessage

    with (
        tempfile.TemporaryDirectory() as tmp,
        EmbeddedRedis(Path(tmp) / "redis", persist=False) as redis,
    ):
        settings = Settings(
            redis_url=redis.url,
            database_url=f"sqlite+aiosqlite:///{tmp}/bench.db",
            clock_start=datetime(2026, 7, 18, 19, 14, tzinfo=UTC),  # Saturday 21:14 in Paris
            demo=False,
        )
        services = Services.create(settings)
        await create_tables(services.db.engine)
        async with services.db.session() as session:
            await seed(session)
        inbox = Inbox(services)
        await services.redis.zadd(online(1), {str(i): 4e9 for i in range(1, 8)})  # everyone online
        timings: list[float] = []
        for n in range(samples):
            message = InboundMessage(
                channel=Channel.WEBCHAT,
                account="chat-les-salines",
                external_id=f"v{n}:c{n:08d}",
                thread_key=f"v{n}",
                author=Author(external_id=f"v{n}"),
                text="Bonsoir, le parking du port est-il ouvert ?",
                received_at=services.clock.now(),
            )
            start = time.perf_counter()
            result = await inbox.ingest(message)
            async with services.db.session() as session:
                conversation = await session.get(Conversation, result.conversation_id)
            timings.append(time.perf_counter() - start)
            assert conversation is not None and conversation.assignee_id is not None
            # Advisers resolve as they go, so the per-adviser cap never stalls the bench.
            async with services.db.session() as session:
                conversation.status = ConversationStatus.RESOLVED
                session.add(conversation)
                await session.commit()
        await services.close()
        return timings


def main() -> None:
    rng = random.Random(3)
    instants = [
        YEAR_START + timedelta(seconds=rng.randrange(365 * 24 * 3600)) for _ in range(200_000)
    ]
    probes = [int((at - YEAR_START).total_seconds()) for at in instants]
    print("on_duty lookups, one-year rota, 10 offices:")
    routes = 0.0
    for overrides in (50, 500, 5000):
        schedule = one_year_rota(10, overrides)
        start = time.perf_counter()
        schedule.on_duty(YEAR_START + timedelta(days=100))
        compile_ms = (time.perf_counter() - start) * 1000
        segments = len(list(schedule.segments(YEAR_START, YEAR_START + timedelta(days=365))))
        rate = lookups_per_second(schedule, instants)
        floor = bisect_floor(segments, probes)
        print(
            f"  {overrides:5d} overrides, {segments:5d} segments: {rate:10,.0f} lookups/s"
            f"   floor bisect {floor:12,.0f}/s   ratio {floor / rate:5.1f}x"
            f"   (year compiled in {compile_ms:6.1f} ms)"
        )
        if overrides == 500:
            routes = routes_per_second(schedule, instants[:50_000])
    print(f"route(account, at), own hours then duty, 500 overrides: {routes:10,.0f} routes/s")
    timings = asyncio.run(ingest_to_assigned())
    print(
        f"chat ingest → assigned (Saturday 21:14, demo rota): p50 {pct(timings, 50) * 1000:.2f} ms"
        f"   p99 {pct(timings, 99) * 1000:.2f} ms   (n={len(timings)})"
    )


if __name__ == "__main__":
    main()
