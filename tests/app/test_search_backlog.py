"""Messages indexed for search after their transaction, in batches (app.search_backlog): on
SQLite a stored message's document is written by the next catch-up — a worker's, once every
half second, or a search's, before it reads — and the mark stays true through corrections,
erasures, deletions, long backlogs and two workers catching up at once. On PostgreSQL the
document is written with the message, and there is nothing to catch up."""

from __future__ import annotations

import asyncio
import logging

import pytest
from sqlalchemy import text
from sqlmodel import col, select

from app import search, search_backlog, search_results
from app.db import Database
from app.inbox import Inbox
from app.models import Message, Role, User
from app.realtime import stop
from app.services import Services
from tests.app.test_search import chat, ingest


def later(services: Services) -> bool:
    return services.db.engine.dialect.name == "sqlite"


async def documents(services: Services, word: str) -> list[int]:
    """The message documents holding ``word``, as stored (one row each: none written twice)."""
    async with services.db.session() as session:
        bind = await session.connection()
        index = search.backend(bind.dialect.name)
        rows = (await bind.execute(index.message_hits([word]))).all()
    return sorted(int(row[0]) for row in rows)


async def mark(services: Services) -> int:
    async with services.db.session() as session:
        found = await session.exec(text("SELECT message_id FROM search_mark"))  # type: ignore[call-overload]
        return int(found.one()[0])


async def catch_up(services: Services, batch: int = search_backlog.BATCH) -> int:
    async with services.db.session() as session:
        return await search_backlog.catch_up(session, batch)


async def message_ids(services: Services, conversation_id: int) -> list[int]:
    async with services.db.session() as session:
        found = await session.exec(
            select(Message.id).where(Message.conversation_id == conversation_id)
        )
        return sorted(int(i or 0) for i in found.all())


async def test_a_chat_message_is_indexed_by_the_next_catch_up_once(services: Services) -> None:
    before = await mark(services) if later(services) else 0
    (cid,) = await ingest(services, chat(1, "Le phare de Kermorvan"))
    (message_id,) = await message_ids(services, cid)
    doc = search.doc_id(search.Kind.MESSAGE, message_id)
    if not later(services):  # PostgreSQL: written with the message
        assert await documents(services, "kermorvan") == [doc]
        assert await catch_up(services) == 0
        return
    assert await documents(services, "kermorvan") == []  # not in the message's transaction
    assert await mark(services) == before
    assert await catch_up(services) == 1
    assert await documents(services, "kermorvan") == [doc]
    assert await mark(services) == message_id
    assert await catch_up(services) == 0  # nothing newer: nothing written again
    assert await documents(services, "kermorvan") == [doc]


async def test_corrections_blanks_and_deletions_before_the_batch_are_what_it_indexes(
    services: Services,
) -> None:
    cids = await ingest(
        services, chat(2, "Horaires du musée"), chat(3, "Numéro 0611223344"), chat(4, "Doublon")
    )
    corrected, blanked, deleted = [(await message_ids(services, c))[0] for c in cids]
    async with services.db.session() as session:
        rows = {m.id: m for m in (await session.exec(select(Message).where(col(Message.id).in_([corrected, blanked, deleted])))).all()}  # fmt: skip
        rows[corrected].text = "Horaires de l'écomusée"
        rows[blanked].text = ""  # as an erasure leaves a message
        session.add(rows[corrected])
        session.add(rows[blanked])
        await session.delete(rows[deleted])
        await session.commit()
    # The correction's hook wrote its document at once; the batch writes it again, not twice.
    written = await catch_up(services)
    assert written == (2 if later(services) else 0)  # the deleted message has no row left
    assert await documents(services, "ecomusee") == [search.doc_id(search.Kind.MESSAGE, corrected)]
    for gone in ("musee", "0611223344", "doublon", "numero"):
        assert await documents(services, gone) == [], gone
    if later(services):
        assert await mark(services) == blanked


async def test_a_backlog_longer_than_a_batch_is_written_batch_by_batch(
    services: Services,
) -> None:
    cids = await ingest(services, *(chat(10 + n, f"Marée numéro {n} Penmarch") for n in range(7)))
    ids = [(await message_ids(services, c))[0] for c in cids]
    assert await catch_up(services, batch=3) == (7 if later(services) else 0)
    assert await documents(services, "penmarch") == [
        search.doc_id(search.Kind.MESSAGE, i) for i in sorted(ids)
    ]
    if later(services):
        assert await mark(services) == max(ids)


async def test_two_workers_catching_up_together_write_each_document_once(
    services: Services,
) -> None:
    cids = await ingest(services, *(chat(30 + n, f"Vedette {n} Glénan") for n in range(40)))
    other = Database(services.settings.sqlalchemy_url)  # a second worker's engine, same file
    try:

        async def other_catch_up() -> int:
            async with other.session() as session:
                return await search_backlog.catch_up(session, batch=7)

        both = await asyncio.gather(catch_up(services, batch=5), other_catch_up())
    finally:
        await other.dispose()
    assert sum(both) == (40 if later(services) else 0)
    assert len(await documents(services, "glenan")) == len(cids) == 40


async def test_a_worker_keeps_the_index_caught_up_without_a_search(services: Services) -> None:
    keeping = asyncio.create_task(search_backlog.keep_indexed(services, every=0.05))
    try:
        await asyncio.sleep(0.1)
        if not later(services):  # nothing to keep: the task has ended
            assert keeping.done() and keeping.exception() is None
        inbox = Inbox(services)
        for n in range(3):
            await inbox.ingest(chat(60 + n, f"Sentier côtier {n} Crozon"), live=True)
        for _ in range(100):
            if len(await documents(services, "crozon")) == 3:
                break
            await asyncio.sleep(0.05)
        assert len(await documents(services, "crozon")) == 3
    finally:
        await stop(keeping)


async def test_the_newest_message_deleted_then_its_id_given_again_is_indexed(
    services: Services,
) -> None:
    (cid,) = await ingest(services, chat(70, "Balade à Ouessant"))
    await catch_up(services)
    (newest,) = await message_ids(services, cid)
    async with services.db.session() as session:
        row = await session.get(Message, newest)
        assert row is not None
        await session.delete(row)
        await session.commit()
    assert await documents(services, "ouessant") == []
    async with services.db.session() as session:
        again = Message(conversation_id=cid, account_id=row.account_id, direction=row.direction,
                        author_kind=row.author_kind, text="Traversée vers Molène",
                        created_at=row.created_at)  # fmt: skip
        session.add(again)
        await session.commit()
        assert again.id is not None
    if later(services):
        assert again.id == newest  # SQLite gives the id again
    await catch_up(services)
    assert await documents(services, "molene") == [search.doc_id(search.Kind.MESSAGE, again.id)]


@pytest.mark.sqlite_only(reason="a read-only SQLite file: the catch-up's write is refused")
async def test_a_search_that_cannot_write_reads_the_index_as_it_is(
    services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    (indexed,) = await ingest(services, chat(80, "Criée de Loctudy, horaires"))
    await catch_up(services)
    await ingest(services, chat(81, "Criée de Loctudy, visites"))
    path = services.settings.sqlalchemy_url.split("///", 1)[1]
    reader = Database(f"sqlite+aiosqlite:///file:{path}?mode=ro&uri=true")
    try:
        async with reader.session() as session:  # as a request's user: read apart
            manager = (
                await session.exec(select(User).where(User.role == Role.DESTINATION_MANAGER))
            ).first()
            assert manager is not None
        async with reader.session() as session:
            with caplog.at_level(logging.WARNING, "app.search_backlog"):
                found = await search_results.page(
                    session, manager, ["loctudy"], search_results.Filters(), 50, None
                )
    finally:
        await reader.dispose()
    assert [c.id for c in found] == [indexed]  # the newest message waits for a writer
    assert "without the newest messages" in caplog.text
    assert await catch_up(services) == 1  # the next catch-up that can write
