"""The answer picker's keystroke: what one letter typed after "/" costs the server.

In one process, on a real embedded Redis and a temporary SQLite database with the demo
destination and ANSWERS answers × 6 languages, an adviser's browser session types prefixes of
real queries letter by letter ("/l", "/li", "/lig", …) and each prefix is one
``GET /api/answers?q=…&conversation_id=…&status=approved&limit=30`` through the real app (FastAPI,
the session cookie read in Redis, the permission check on the conversation, the ranking) — the
very request the picker sends. Prints p50/p95 per keystroke, the cold cost of folding the library
again after an edit, the CPU time per keystroke (which a loaded machine does not inflate), and
the floor: a bare ``LIKE`` scan in SQLite (stdlib ``sqlite3``) reading
the same rows for the same prefixes in the same run, with the ratio keystroke p95 / floor p95.

Run: ``python -m bench.answers_bench [--answers 2000]``.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlmodel import select

from app.db import create_tables
from app.demo import seed
from app.embedded_redis import EmbeddedRedis
from app.main import create_app
from app.models import (
    Account,
    Answer,
    AnswerStatus,
    AnswerText,
    Contact,
    Conversation,
    Office,
    Role,
    User,
)
from app.security import hash_password
from app.services import Services
from app.settings import Settings
from bench.figures import pct

START = datetime(2026, 7, 21, 8, 0, tzinfo=UTC)
LANGUAGES = ("fr", "en", "de", "nl", "es", "it")
TOPICS = (
    "lighthouse", "tides", "bike", "ferry", "market", "parking", "museum", "beach", "bus",
    "camping", "hotel", "restaurant", "fishing", "kayak", "sailing", "castle", "church", "festival",
    "fireworks", "cinema", "pharmacy", "hospital", "taxi", "train", "wifi", "luggage", "dogs",
    "surf", "diving", "golf", "tennis", "horse", "walks", "salt", "oysters", "wine", "bakery",
)  # fmt: skip
TOWNS = ("port-argent", "saint-clair", "les-salines", "la-pointe", "le-bourg")
QUERIES = ("lighthouse", "ferry saint", "parking", "marché", "tides", "velo", "oysters", "zzz")
WORDS = (
    "open", "daily", "from", "until", "tickets", "booking", "adults", "children", "free", "summer",
    "winter", "harbour", "bay", "office", "visit", "guided", "tour", "minutes", "walk", "center",
)  # fmt: skip


def fmt(values: list[float]) -> str:
    return (
        f"p50 {pct(values, 50) * 1000:7.2f} ms   p95 {pct(values, 95) * 1000:7.2f} ms   "
        f"(n={len(values)})"
    )


def prefixes() -> list[str]:
    return [query[:n] for query in QUERIES for n in range(1, len(query) + 1)]


async def fill_library(services: Services, count: int) -> None:
    rng = random.Random(13)
    now = services.clock.now()
    async with services.db.session() as session:
        offices = [o.id for o in (await session.exec(select(Office))).all()]
        answers = []
        for n in range(count):
            topic, town = TOPICS[n % len(TOPICS)], TOWNS[n // len(TOPICS) % len(TOWNS)]
            answers.append(
                Answer(
                    destination_id=1,
                    office_id=rng.choice([None, None, *offices]),
                    title=f"{topic.title()} {town.replace('-', ' ').title()} {n}",
                    shortcut=f"{topic}-{town}-{n}",
                    tags=f"{topic} {town}",
                    status=AnswerStatus.APPROVED,
                    created_at=now,
                    updated_at=now,
                    uses=rng.randint(0, 50),
                )
            )
        session.add_all(answers)
        await session.flush()
        for a in answers:
            for language in LANGUAGES:
                words = " ".join(rng.choice(WORDS) for _ in range(45))
                session.add(
                    AnswerText(answer_id=a.id or 0, language=language, text=f"{a.title}: {words}.")
                )
        await session.commit()


async def conversation_of(services: Services) -> tuple[int, User]:
    async with services.db.session() as session:
        account = (
            await session.exec(select(Account).where(Account.key == "chat-port-argent"))
        ).one()
        contact = Contact(
            destination_id=1, channel="webchat", external_id="bench", name="Anna", language="de",
            created_at=START,
        )  # fmt: skip
        session.add(contact)
        await session.flush()
        conversation = Conversation(
            destination_id=1, account_id=account.id or 0, contact_id=contact.id or 0,
            office_id=account.office_id, channel="webchat", thread_key="bench",
            created_at=START, last_message_at=START,
        )  # fmt: skip
        session.add(conversation)
        adviser = User(
            destination_id=1, office_id=account.office_id, email="bench@port-argent.example",
            name="Bench", password_hash=hash_password("bench-password"), role=Role.ADVISER,
        )  # fmt: skip
        session.add(adviser)
        await session.commit()
        return conversation.id or 0, adviser


async def logged_in(client: httpx.AsyncClient) -> None:
    page = await client.get("/login")
    token = page.text.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]
    response = await client.post(
        "/login",
        data={"email": "bench@port-argent.example", "password": "bench-password",
              "csrf_token": token},
    )  # fmt: skip
    assert response.status_code == 303, response.text


def floor(path: Path, typed: list[str], rounds: int) -> list[float]:
    """A bare LIKE scan over the same answers and texts, stdlib sqlite3, no ranking."""
    db = sqlite3.connect(path)
    timings = []
    for _ in range(rounds):
        for prefix in typed:
            like = f"%{prefix}%"
            t0 = time.perf_counter()
            db.execute(
                "SELECT a.id, a.title, a.shortcut, t.language, t.text FROM answer a "
                "JOIN answer_text t ON t.answer_id = a.id WHERE a.destination_id = 1 AND "
                "(a.shortcut LIKE ? OR a.title LIKE ? OR a.tags LIKE ? OR t.text LIKE ?) "
                "LIMIT 30",
                (f"{prefix}%", like, like, like),
            ).fetchall()
            timings.append(time.perf_counter() - t0)
    db.close()
    return timings


async def run(count: int, rounds: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        redis = EmbeddedRedis(Path(tmp) / "redis", persist=False)
        redis.start()
        path = Path(tmp) / "bench.db"
        settings = Settings(
            redis_url=redis.url,
            database_url=f"sqlite+aiosqlite:///{path}",
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
            t0 = time.perf_counter()
            await fill_library(services, count)
            print(f"library: {count} answers × {len(LANGUAGES)} languages stored in "
                  f"{time.perf_counter() - t0:.1f} s")  # fmt: skip
            conversation_id, _ = await conversation_of(services)
            async with services.db.session() as session:
                wide = (
                    await session.exec(select(Answer.id).where(Answer.office_id == None))  # noqa: E711
                ).first()
            app = create_app(settings)
            app.state.services = services
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
                await logged_in(client)
                typed = prefixes()

                async def keystroke(prefix: str) -> float:
                    params: dict[str, str | int] = {"q": prefix, "conversation_id": conversation_id,
                              "status": "approved", "limit": 30}  # fmt: skip
                    t0 = time.perf_counter()
                    response = await client.get("/api/answers", params=params)
                    elapsed = time.perf_counter() - t0
                    assert response.status_code == 200, response.text
                    return elapsed

                # The app's own floor: a signed-in GET of one answer (session, user, one row).
                reads = []
                for _ in range(100):
                    t0 = time.perf_counter()
                    assert (await client.get(f"/api/answers/{wide}")).status_code == 200
                    reads.append(time.perf_counter() - t0)
                cold = await keystroke("l")  # the first search folds the whole library
                cpu_start = time.process_time()  # every thread of this process: the server's work
                timings = [await keystroke(p) for _ in range(rounds) for p in typed]
                cpu = (time.process_time() - cpu_start) / len(timings)
                # An edit elsewhere: the next keystroke folds the library again.
                async with services.db.session() as session:
                    edited = await session.get(Answer, 1)
                    assert edited is not None
                    edited.updated_at = services.clock.now()
                    session.add(edited)
                    await session.commit()
                after_edit = await keystroke("li")
            bare = floor(path, typed, rounds)
        finally:
            await services.close()
            redis.stop()
    print(f"prefixes typed: {len(typed)} ({', '.join(QUERIES)}), {rounds} rounds")
    print(f"picker keystroke (GET /api/answers, HTTP in-process): {fmt(timings)}")
    print(f"CPU per keystroke (client and server, all threads): {cpu * 1000:7.2f} ms")
    print(f"first search (folding the library):  {cold * 1000:7.1f} ms")
    print(f"first search after an edit:          {after_edit * 1000:7.1f} ms")
    print(f"floor, bare SQLite LIKE scan:         {fmt(bare)}")
    print(f"for scale, GET /api/answers/ID (signed in, one row): {fmt(reads)}")
    ratio = pct(timings, 95) / pct(bare, 95)
    print(f"ratio keystroke p95 / one-answer GET p95: {pct(timings, 95) / pct(reads, 95):.2f}")
    verdict = "within" if pct(timings, 95) <= 0.050 else "OVER"
    print(f"ratio keystroke p95 / floor p95: {ratio:.2f}   target p95 ≤ 50 ms: {verdict}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--answers", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    asyncio.run(run(args.answers, args.rounds))


if __name__ == "__main__":
    main()
