"""Search latency on a large archive, against a floor measured in the same run.

Builds a SQLite database (the demo destination) with N messages (1,000,000 by default) of
realistic multilingual visitor questions, replies and notes in 100,000 conversations spread over
the three offices (raw bulk inserts in one transaction, the bench file without fsync), indexes them with the documents the backfill writes, then times
``app.search_results`` (the API's page and excerpts) for a set of 1–3-word queries — accents,
prefixes, mixed case — as an adviser (visibility filter on: their office only) and as the
destination's manager. The floors are a bare FTS5 MATCH of the same query on the same table:
the newest 51 message hits (what a page of 50 needs at least) and every hit (what a search that
sorts all hits pays). Prints p50/p95 and the ratios p95 / floor p95. With
``DATABASE_URL`` pointing at PostgreSQL, the same queries run there (the floor is then the bare
``@@`` over the GIN index).

Run: ``python -m bench.search_bench [--messages 1000000]``.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import random
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import text
from sqlmodel import select

from app import search, search_results, search_sqlite
from app.db import Database, create_tables
from app.demo import seed
from app.models import Role, User
from bench.figures import pct

_VOCABULARY = {
    "fr": (
        "bonjour château phare marée horaires vélo location plage musée ouvert fermé ce soir "
        "demain matin ferry traversée billet réservation parking chien randonnée sentier côtier "
        "marché crêperie restaurant hôtel chambre piscine enfants gratuit tarif été hiver île"
    ),
    "en": (
        "hello lighthouse tide times bike rental beach museum open closed tonight tomorrow "
        "morning ferry crossing ticket booking parking dog hike coastal path market restaurant "
        "hotel room pool children free price summer winter island castle walk boat"
    ),
    "de": (
        "hallo Leuchtturm Gezeiten Fahrrad Verleih Strand Museum geöffnet geschlossen heute Abend "
        "morgen Fähre Überfahrt Fahrkarte Reservierung Parkplatz Hund Wanderung Küstenweg Markt "
        "Restaurant Zimmer Schwimmbad Kinder kostenlos Preis Sommer Schloss Straße"
    ),
    "nl": (
        "hallo vuurtoren getijden fiets verhuur strand museum open gesloten vanavond morgen "
        "veerboot overtocht kaartje reservering parkeren hond wandeling kustpad markt kamer"
    ),
    "es": (
        "hola faro mareas bicicleta alquiler playa museo abierto cerrado esta noche mañana ferri "
        "travesía billete reserva aparcamiento perro senderismo mercado habitación niños"
    ),
}
WORDS = {language: text.split() for language, text in _VOCABULARY.items()}
QUERIES = [
    "chateau", "château", "CHATEAU", "phare", "maree", "marée haute", "velo location",
    "lighthouse", "tide times", "bike", "bi", "fer", "ferry tomorrow", "Fähre", "fahre",
    "strasse", "Küstenweg", "museo abierto", "playa", "parking chien", "hotel room pool",
    "cr", "crep", "creperie", "schloss", "vuurtoren", "Zéphyrine", "reserv", "plage enfants",
    "ile", "anne", "julia 42", "bakerlo", "velurpro", "zuwo",
]  # fmt: skip
T0 = datetime(2025, 1, 1, tzinfo=UTC)
PER_CONVERSATION = 10


def fmt(values: list[float]) -> str:
    return (
        f"p50 {pct(values, 50) * 1000:7.2f} ms   p95 {pct(values, 95) * 1000:7.2f} ms   "
        f"max {max(values) * 1000:7.2f} ms   (n={len(values)})"
    )


SYLLABLES = [
    "ba",
    "ker",
    "lo",
    "mi",
    "nou",
    "pa",
    "ri",
    "sen",
    "ta",
    "vel",
    "wo",
    "zu",
    "an",
    "el",
    "is",
    "or",
    "ur",
    "bre",
    "cha",
    "dre",
    "gli",
    "pro",
]


def sentences(rng: random.Random, count: int) -> Iterator[str]:
    """Questions as visitors write them: a few topic words of one language among words of a
    long tail (names of places, people, dates: 40,000 made-up words, Zipf-like), so a topic word
    is in a few percent of the messages, as "plage" is in a tourist office's."""
    langs = list(WORDS)
    tail = ["".join(rng.choices(SYLLABLES, k=rng.randint(2, 4))) for _ in range(40_000)]
    weights = [1 / (rank + 1) for rank in range(len(tail))]
    cumulative = list(itertools.accumulate(weights))
    for _ in range(count):
        words = rng.choices(WORDS[rng.choice(langs)], k=rng.randint(2, 5))
        words += rng.choices(tail, cum_weights=cumulative, k=rng.randint(4, 12))
        rng.shuffle(words)
        yield " ".join(words).capitalize() + " ?"


def stamp(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S.%f")


def fill(path: str, messages: int) -> None:
    """Contacts, conversations and messages by executemany, then the index as the backfill."""
    rng = random.Random(13)
    db = sqlite3.connect(path)
    # A throwaway file: no fsync, a large page cache (the bench DB only).
    db.execute("PRAGMA synchronous = OFF")
    db.execute("PRAGMA cache_size = -262144")
    accounts = db.execute("SELECT id, office_id FROM account WHERE channel = 'webchat'").fetchall()
    conversations = max(1, messages // PER_CONVERSATION)
    db.execute("BEGIN")
    first_names = [
        "Anne",
        "Ingrid",
        "Jan",
        "Lucía",
        "Marc",
        "Julia",
        "Sören",
        "Zoé",
        "Hélène",
        "Pieter",
        "Carmen",
        "Émile",
    ]
    db.executemany(
        "INSERT INTO contact (id, destination_id, channel, external_id, name, handle, language,"
        " created_at, profile, email) VALUES (?, 1, 'webchat', ?, ?, '', '', ?, '', '')",
        ((n + 1000, f"bench-{n}", f"{rng.choice(first_names)} {n}", stamp(T0))
         for n in range(conversations)),
    )  # fmt: skip
    rows = []
    for n in range(conversations):
        account, office = accounts[n % len(accounts)]
        last = T0 + timedelta(minutes=n * 5)
        rows.append((n + 1000, account, n + 1000, office, f"bench-{n}", stamp(last), stamp(last)))
    db.executemany(
        "INSERT INTO conversation (id, destination_id, account_id, contact_id, office_id, channel,"
        " thread_key, subject, status, unread, created_at, last_message_at, preview, spam,"
        " visitor_ip, priority) VALUES (?, 1, ?, ?, ?, 'webchat', ?, '', 'OPEN', 0, ?, ?, '', 0,"
        " '', 0)",
        rows,
    )
    texts = sentences(rng, messages)
    direction = ("IN", "VISITOR"), ("OUT", "ADVISER"), ("NOTE", "ADVISER")

    def message_rows() -> Iterator[tuple[object, ...]]:
        for i, body in enumerate(texts):
            conversation = i // PER_CONVERSATION + 1000
            d, kind = direction[0] if i % 3 == 0 else direction[1 + (i % 7 == 1)]
            at = T0 + timedelta(minutes=(conversation - 1000) * 5, seconds=i % PER_CONVERSATION)
            account = accounts[(conversation - 1000) % len(accounts)][0]
            yield (i + 1000, conversation, account, d, kind, body, stamp(at))

    stored: list[tuple[int, int, str]] = []

    def kept(rows: Iterator[tuple[object, ...]]) -> Iterator[tuple[object, ...]]:
        for row in rows:  # the text once more, for the index, without reading it back
            stored.append((int(str(row[0])), int(str(row[1])), str(row[5])))
            yield row

    db.executemany(
        "INSERT INTO message (id, conversation_id, account_id, direction, author_kind, client_id,"
        " kind, text, split_thread, created_at, delivery_status, delivery_error, delivery_code,"
        " delivery_params, details) VALUES (?, ?, ?, ?, ?, '', 'normal', ?, 0, ?, 'RECEIVED',"
        " '', '', '', '')",
        kept(message_rows()),
    )
    db.commit()
    started = time.perf_counter()
    # The index as the backfill writes it (folded words, the same document ids), in one
    # transaction of bulk inserts, messages in id order.
    db.execute("BEGIN")
    db.executemany(
        f"INSERT INTO {search_sqlite.TABLE} (rowid, ref, body) VALUES (?, ?, ?)",  # noqa: S608
        search.message_docs(stored),
    )
    contacts = db.execute(
        "SELECT id, channel, external_id, name, email, handle FROM contact"
    ).fetchall()
    db.executemany(
        f"INSERT INTO {search_sqlite.META_TABLE} (rowid, ref, body) VALUES (?, ?, ?)",  # noqa: S608
        [d for row in contacts for d in search.contact_docs(_Row(*row))],
    )
    db.commit()
    db.close()
    print(f"indexed them in {time.perf_counter() - started:.1f} s")


class _Row:
    """A contact row as ``search.contact_docs`` reads it."""

    def __init__(self, *values: object) -> None:
        self.id, self.channel, self.external_id, self.name, self.email, self.handle = values


async def backfill(database: Database) -> None:
    async with database.engine.begin() as conn:
        table = search.backend(conn.dialect.name).table
        await conn.exec_driver_sql(f"DELETE FROM {table}")  # noqa: S608 (a constant name)
        await conn.run_sync(search.backfill)


async def measure(database: Database, words_of: list[list[str]], who: User) -> list[float]:
    out = []
    for words in words_of:
        async with database.session() as session:
            start = time.perf_counter()
            rows = await search_results.page(
                session, who, words, search_results.Filters(), 50, None
            )
            await search_results.snippets(session, words, rows[:50])
            out.append(time.perf_counter() - start)
    return out


async def floor(
    database: Database, words_of: list[list[str]], rows: int | None
) -> tuple[list[float], int]:
    """A bare index match per query: the newest ``rows`` message hits (what a page needs, read
    in the index's order), or every hit when ``rows`` is None."""
    out, hits = [], 0
    async with database.engine.connect() as conn:
        index = search.backend(conn.dialect.name)
        for words in words_of:
            query = index.message_hits(words) if rows is None else index.newest(words, None, rows)
            start = time.perf_counter()
            hits += len((await conn.execute(query)).all())
            out.append(time.perf_counter() - start)
    return out, hits


async def run(url: str, path: str | None, messages: int) -> None:
    database = Database(url)
    await create_tables(database.engine)
    async with database.session() as session:
        await seed(session)
    if path:
        started = time.perf_counter()
        fill(path, messages)
        print(f"stored and indexed {messages:,} messages in {time.perf_counter() - started:.1f} s")
    else:
        started = time.perf_counter()
        await backfill(database)
        print(f"indexed them (backfill) in {time.perf_counter() - started:.1f} s")
    async with database.session() as session:
        adviser = (await session.exec(select(User).where(User.role == Role.ADVISER))).first()
        manager = (
            await session.exec(select(User).where(User.role == Role.DESTINATION_MANAGER))
        ).first()
        total = (await session.exec(text("SELECT count(*) FROM message"))).one()  # type: ignore[call-overload]
    assert adviser and manager
    print(f"messages in the archive: {total[0]:,}")
    words_of = [search.words(q) for q in QUERIES] * 2
    await floor(database, words_of[:5], None)  # warm the page cache
    page_floor, _ = await floor(database, words_of, 51)
    bare, hits = await floor(database, words_of, None)
    as_adviser = await measure(database, words_of, adviser)
    as_manager = await measure(database, words_of, manager)
    print(f"hits per query: {hits // len(words_of):,} on average")
    print(f"floor: bare match, newest 51 hits   {fmt(page_floor)}")
    print(f"floor: bare match, every hit        {fmt(bare)}")
    print(f"search as an adviser (one office)   {fmt(as_adviser)}")
    print(f"search as the destination manager   {fmt(as_manager)}")
    for name, values in (("adviser", as_adviser), ("manager", as_manager)):
        slowest = sorted(zip(values, words_of, strict=True), reverse=True)[:4]
        print(f"slowest as {name}: " + ", ".join(f"{' '.join(w)!r} {t * 1000:.0f} ms"
                                               for t, w in slowest))  # fmt: skip
    for name, values in (("adviser", as_adviser), ("manager", as_manager)):
        page_ratio = pct(values, 95) / pct(page_floor, 95)
        all_ratio = pct(values, 95) / pct(bare, 95)
        print(
            f"ratio {name} p95 / newest-51 floor p95: {page_ratio:.2f}   / every-hit floor p95:"
            f" {all_ratio:.2f}   (target p95 <= 100 ms)"
        )
    await database.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith("postgresql"):
        print("PostgreSQL:", url.split("@")[-1])
        asyncio.run(run(url, None, args.messages))
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "bench.db")
        print(f"SQLite {sqlite3.sqlite_version}, FTS5")
        asyncio.run(run(f"sqlite+aiosqlite:///{path}", path, args.messages))


if __name__ == "__main__":
    main()
