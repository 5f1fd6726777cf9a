"""The search interface on both engines, for real: SQLite FTS5 and PostgreSQL tsvector + GIN
(a throwaway PostgreSQL cluster started in a temporary directory): the same documents, the same
queries, the same answers — accents, case, prefixes, rights, rollback, erasure-like blanking."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import select

from app import search, search_results
from app.db import Database, create_tables
from app.models import (
    Account,
    AuthorKind,
    Contact,
    Conversation,
    Destination,
    Direction,
    Message,
    Office,
    Role,
    User,
)
from tests.support.postgres import PostgresCluster

T0 = datetime(2026, 7, 18, 19, 14, tzinfo=UTC)


@pytest.fixture(scope="module")
def postgres_url(postgres_cluster: PostgresCluster) -> Iterator[str]:
    """A database of its own on the session's throwaway PostgreSQL (tests/support/postgres.py)."""
    url = postgres_cluster.new_database("search")
    yield url
    postgres_cluster.drop_database(url)


@pytest.fixture(params=["sqlite", "postgresql"])
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'concierge.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    db = Database(url)
    if request.param == "postgresql":  # one cluster for the module: a clean schema per test
        async with db.engine.begin() as conn:
            await conn.exec_driver_sql("DROP SCHEMA public CASCADE")
            await conn.exec_driver_sql("CREATE SCHEMA public")
    await create_tables(db.engine)
    yield db
    await db.dispose()


async def world(db: Database) -> dict[str, int]:
    """Two offices, an adviser in each, a manager, and one conversation per office."""
    async with db.session() as s:
        s.add(Destination(slug="baie", name="Baie d'Argent"))
        await s.flush()
        for slug in ("port", "clair"):
            s.add(Office(destination_id=1, slug=slug, name=slug))
        await s.flush()
        for n, office in ((1, 1), (2, 2)):
            s.add(
                Account(destination_id=1, office_id=office, channel="email", key=f"m{n}", name="M")
            )
            s.add(User(destination_id=1, office_id=office, email=f"a{n}@x.example", name=f"A{n}",
                       password_hash="x", role=Role.ADVISER))  # fmt: skip
        s.add(User(destination_id=1, email="m@x.example", name="M", password_hash="x",
                   role=Role.DESTINATION_MANAGER))  # fmt: skip
        await s.flush()
        ids: dict[str, int] = {}
        for n, office, name, subject, words in (
            (1, 1, "Ægir Sørensen", "Château", "Le CHÂTEAU de Kerjean ouvre-t-il à 10 h ?"),
            (2, 2, "Zoé Lefèvre", "Vélos", "Location de vélos électriques à Saint-Clair"),
        ):
            contact = Contact(destination_id=1, channel="email", external_id=f"v{n}@example.org",
                              name=name, created_at=T0)  # fmt: skip
            s.add(contact)
            await s.flush()
            c = Conversation(destination_id=1, account_id=n, contact_id=contact.id or 0,
                             office_id=office, channel="email", thread_key=f"t{n}",
                             subject=subject, created_at=T0, last_message_at=T0)  # fmt: skip
            s.add(c)
            await s.flush()
            m = Message(conversation_id=c.id or 0, account_id=n, direction=Direction.IN,
                        author_kind=AuthorKind.VISITOR, text=words, created_at=T0)  # fmt: skip
            s.add(m)
            await s.flush()
            ids[f"c{n}"], ids[f"m{n}"] = c.id or 0, m.id or 0
        await s.commit()
    return ids


async def user(db: Database, email: str) -> User:
    async with db.session() as s:
        return (await s.exec(select(User).where(User.email == email))).one()


async def found(db: Database, who: User, q: str) -> list[int]:
    async with db.session() as s:
        rows = await search_results.page(
            s, who, search.words(q), search_results.Filters(), 50, None
        )
        return [c.id or 0 for c in rows]


async def test_both_engines_answer_alike(database: Database) -> None:
    ids = await world(database)
    manager, port = await user(database, "m@x.example"), await user(database, "a1@x.example")
    for q in ("chateau", "CHÂTEAU", "chât", "kerjean 10", "v1@example", "example.org v1"):
        assert await found(database, manager, q) == [ids["c1"]], q
    assert await found(database, manager, "velos electr") == [ids["c2"]]
    assert await found(database, manager, "zoe lefevre") == [ids["c2"]]
    assert await found(database, manager, "chateau velos") == []
    assert sorted(await found(database, manager, "example")) == sorted([ids["c1"], ids["c2"]])
    assert await found(database, port, "velos") == []  # Saint-Clair's: not Port's adviser's
    assert await found(database, port, "chateau") == [ids["c1"]]
    async with database.session() as s:
        hits = await search_results.snippets(s, ["chateau"], [await s.get(Conversation, ids["c1"])])  # type: ignore[list-item]
        first = hits[ids["c1"]][0]
        assert first["message_id"] == ids["m1"]
        assert [x["text"] for x in first["segments"] if x["mark"]] == ["CHÂTEAU"]
    for q in ('"', "NEAR(a b)", "a:b", "*", "' OR 1=1 --", "chat\x00eau", "(((", "\\'"):
        await found(database, manager, q) if search.words(q) else None


async def test_a_rollback_and_a_blanked_message_leave_no_words_behind(database: Database) -> None:
    ids = await world(database)
    manager = await user(database, "m@x.example")
    async with database.session() as s:
        m = await s.get(Message, ids["m1"])
        assert m is not None
        m.text = "Gwenaëlle"
        s.add(m)
        await s.flush()
        assert len((await (await s.connection()).execute(search.backend((await s.connection()).dialect.name).hits(["gwenaelle"]))).all()) == 1  # fmt: skip
        await s.rollback()
    assert await found(database, manager, "gwenaelle") == []
    assert await found(database, manager, "kerjean") == [ids["c1"]]
    async with database.session() as s:
        m = await s.get(Message, ids["m1"])
        c = await s.get(Conversation, ids["c1"])
        contact = await s.get(Contact, c.contact_id if c else 0)
        assert m and c and contact
        m.text, c.subject = "", ""
        contact.name, contact.external_id = "", f"erased:{contact.id}"
        s.add_all([m, c, contact])
        await s.commit()
    for q in ("kerjean", "chateau", "sorensen", "aegir", "v1@example"):
        assert await found(database, manager, q) == [], q
