"""Migration 0008: made on a database that already holds conversations, the index is filled
from them (messages, notes, subjects, visitors); its downgrade drops it, and writes made while
it is gone are indexed by the next upgrade. Migration 0009 moves subjects and visitors into
their own table, and back on its downgrade."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Connection, inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

from app import migrations, search, search_backlog
from app.db import make_engine, migrate
from app.models import (
    Account,
    AuthorKind,
    Contact,
    Conversation,
    Destination,
    Direction,
    Message,
    Office,
)

T0 = datetime(2026, 7, 18, 19, 14, tzinfo=UTC)


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'concierge.db'}")
    yield engine
    await engine.dispose()


def hits(connection: Connection, word: str) -> list[tuple[int, int]]:
    index = search.backend(connection.dialect.name)
    return [(int(d), int(r)) for d, r in connection.execute(index.hits([word])).all()]


async def add_rows(engine: AsyncEngine, *, at_0007: bool = False) -> tuple[int, int, int]:
    """A conversation with a visitor's message and a note. ``at_0007``: the tables later
    revisions changed are written in raw SQL with the columns 0007 had (the models would fill
    later ones); else through the models, as the application writes them."""
    if not at_0007:
        return await _add_rows_with_models(engine)
    async with AsyncSession(engine, expire_on_commit=False) as session:
        connection = await session.connection()
        await connection.execute(
            text(
                "INSERT INTO destination (slug, name, timezone, rota_toml)"
                " VALUES ('baie-dargent', 'Baie d''Argent', 'Europe/Paris', '')"
            )
        )
        session.add(Office(destination_id=1, slug="port-argent", name="Port-Argent"))
        await session.flush()
        await connection.execute(
            text(
                "INSERT INTO account (destination_id, office_id, channel, key, name,"
                " allowed_origins, settings, active) VALUES (1, 1, 'email', 'mail', 'M', '', '', 1)"
            )
        )
        contact = Contact(destination_id=1, channel="email", external_id="aurelie@example.org",
                          name="Aurélie Kerjean", created_at=T0)  # fmt: skip
        session.add(contact)
        await session.flush()
        conversation_id = (
            await connection.execute(
                text(
                    "INSERT INTO conversation (destination_id, account_id, contact_id, office_id,"
                    " channel, thread_key, subject, status, unread, created_at, last_message_at,"
                    " preview, spam, visitor_ip, priority) VALUES (1, 1, :contact, 1, 'email',"
                    " 't1', 'Horaires de l''écomusée', 'OPEN', 0, :at, :at, '', 0, '', 0)"
                    " RETURNING id"
                ),
                {"contact": contact.id, "at": T0},
            )
        ).scalar_one()
        for direction, kind, words in (
            (Direction.IN, AuthorKind.VISITOR, "La Pointe du Château se visite-t-elle ?"),
            (Direction.NOTE, AuthorKind.ADVISER, "Voir avec Ploumanac'h"),
        ):
            session.add(Message(conversation_id=conversation_id, account_id=1,
                                direction=direction, author_kind=kind, text=words,
                                created_at=T0))  # fmt: skip
        await session.commit()
        return conversation_id, contact.id or 0, 0


async def _add_rows_with_models(engine: AsyncEngine) -> tuple[int, int, int]:
    async with AsyncSession(engine, expire_on_commit=False) as session:
        session.add(Destination(slug="baie-dargent", name="Baie d'Argent"))
        await session.flush()
        session.add(Office(destination_id=1, slug="port-argent", name="Port-Argent"))
        await session.flush()
        session.add(Account(destination_id=1, office_id=1, channel="email", key="mail", name="M"))
        await session.flush()
        contact = Contact(destination_id=1, channel="email", external_id="aurelie@example.org",
                          name="Aurélie Kerjean", created_at=T0)  # fmt: skip
        session.add(contact)
        await session.flush()
        conversation = Conversation(destination_id=1, account_id=1, contact_id=contact.id or 0,
                                    office_id=1, channel="email", thread_key="t1",
                                    subject="Horaires de l'écomusée", created_at=T0,
                                    last_message_at=T0)  # fmt: skip
        session.add(conversation)
        await session.flush()
        for direction, kind, words in (
            (Direction.IN, AuthorKind.VISITOR, "La Pointe du Château se visite-t-elle ?"),
            (Direction.NOTE, AuthorKind.ADVISER, "Voir avec Ploumanac'h"),
        ):
            session.add(Message(conversation_id=conversation.id or 0, account_id=1,
                                direction=direction, author_kind=kind, text=words,
                                created_at=T0))  # fmt: skip
        await session.commit()
        return conversation.id or 0, contact.id or 0, 0


async def test_the_upgrade_fills_the_index_from_stored_rows_and_the_downgrade_drops_it(
    engine: AsyncEngine,
) -> None:
    await migrate(engine)
    async with engine.begin() as conn:
        await conn.run_sync(migrations.downgrade, "0007")
        assert not any(
            search.owned_table(t)
            for t in await conn.run_sync(lambda c: inspect(c).get_table_names())
        )
    # Written while there is no index: nothing fails, nothing is indexed yet.
    conversation_id, contact_id, _ = await add_rows(engine, at_0007=True)
    assert await migrate(engine) == ("0007", migrations.head())
    async with engine.connect() as conn:
        assert await conn.run_sync(hits, "chateau") == [(8 * 1, conversation_id)]  # message 1
        assert [r for _, r in await conn.run_sync(hits, "ploumanac")] == [conversation_id]
        assert await conn.run_sync(hits, "ecomusee") == [(8 * conversation_id + 1, conversation_id)]
        assert await conn.run_sync(hits, "aurelie") == [
            (8 * contact_id + 2, contact_id),  # her name
            (8 * contact_id + 3, contact_id),  # her address
        ]
    # And it is kept in step from then on.
    async with AsyncSession(engine) as session:
        contact = await session.get(Contact, contact_id)
        assert contact is not None
        contact.name = "Aurélie Le Bihan"
        session.add(contact)
        await session.commit()
    async with engine.connect() as conn:
        assert await conn.run_sync(hits, "kerjean") == []
        assert len(await conn.run_sync(hits, "bihan")) == 1


async def test_0009_moves_subjects_and_visitors_out_of_the_message_index_and_back(
    engine: AsyncEngine,
) -> None:
    await migrate(engine)
    conversation_id, contact_id, _ = await add_rows(engine)
    async with AsyncSession(engine) as session:
        assert await search_backlog.catch_up(session) == 2  # the message and the note

    def tables(connection: Connection) -> dict[str, list[int]]:
        names = inspect(connection).get_table_names()
        return {
            name: sorted(int(r) for (r,) in connection.exec_driver_sql(f"SELECT rowid FROM {name}"))  # noqa: S608
            for name in ("search_fts", "search_meta_fts")
            if name in names
        }

    subject_and_visitor = sorted([8 * conversation_id + 1, 8 * contact_id + 2, 8 * contact_id + 3])
    async with engine.begin() as conn:
        assert await conn.run_sync(tables) == {
            "search_fts": [8, 16], "search_meta_fts": subject_and_visitor,
        }  # fmt: skip
        await conn.run_sync(migrations.downgrade, "0008")  # 0008's one table, as it was made
        assert await conn.run_sync(tables) == {"search_fts": sorted([8, 16, *subject_and_visitor])}
    assert await migrate(engine) == ("0008", migrations.head())
    async with engine.connect() as conn:
        assert await conn.run_sync(tables) == {
            "search_fts": [8, 16], "search_meta_fts": subject_and_visitor,
        }  # fmt: skip
        assert await conn.run_sync(hits, "ecomusee") == [(8 * conversation_id + 1, conversation_id)]


async def test_0015_marks_what_is_indexed_and_going_back_writes_what_is_owed(
    engine: AsyncEngine,
) -> None:
    async with engine.begin() as conn:
        await conn.run_sync(migrations.upgrade, "0014")
    conversation_id, _, _ = await add_rows(engine)  # indexed in their transaction, as before
    assert await migrate(engine) == ("0014", migrations.head())

    async def mark() -> int | None:
        async with engine.connect() as conn:
            if "search_mark" not in await conn.run_sync(lambda c: inspect(c).get_table_names()):
                return None
            return int(
                (await conn.exec_driver_sql("SELECT message_id FROM search_mark")).scalar_one()
            )

    async def add(words: str) -> int:
        async with AsyncSession(engine, expire_on_commit=False) as session:
            message = Message(conversation_id=conversation_id, account_id=1,
                              direction=Direction.IN, author_kind=AuthorKind.VISITOR,
                              text=words, created_at=T0)  # fmt: skip
            session.add(message)
            await session.commit()
            return message.id or 0

    async def found(word: str) -> list[tuple[int, int]]:
        async with engine.connect() as conn:
            return await conn.run_sync(hits, word)

    assert await mark() == 2  # the message and the note, both indexed already
    owed = await add("Le sentier des douaniers")
    assert await found("douaniers") == []  # left to the next catch-up
    async with engine.begin() as conn:
        await conn.run_sync(migrations.downgrade, "0014")
    assert await mark() is None
    assert await found("douaniers") == [(8 * owed, conversation_id)]  # written on the way back
    inline = await add("Les menhirs de Carnac")
    assert await found("carnac") == [(8 * inline, conversation_id)]  # in its own transaction
    assert await migrate(engine) == ("0014", migrations.head())
    assert await mark() == inline
    later = await add("Les alignements de Kerzerho")
    async with AsyncSession(engine) as session:
        assert await search_backlog.catch_up(session) == 1
    assert await found("kerzerho") == [(8 * later, conversation_id)]
    assert await found("carnac") == [(8 * inline, conversation_id)]
