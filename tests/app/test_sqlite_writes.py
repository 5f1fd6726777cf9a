"""SQLite writers of one process take turns in asyncio (app/sqlite_writes.py): none sleeps in
SQLite's busy handler, a transaction holding the lock runs on the event loop's thread, and a
lock held by another process is waited for off the loop. Real SQLite files, real threads."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from sqlalchemy import event, text
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db import Database, plain_write

pytestmark = pytest.mark.sqlite_only


async def run(session: AsyncSession, sql: Any, params: dict[str, Any] | None = None) -> Any:
    """A raw statement in the session's transaction."""
    return await (await session.connection()).execute(sql, params or {})


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'writes.db'}")

    @event.listens_for(database.engine.sync_engine, "connect")
    def _thread_function(dbapi_conn: Any, _record: Any) -> None:
        # Which thread runs a statement: the driver's or the event loop's.
        dbapi_conn.create_function("thread_id", 0, threading.get_ident)

    async with database.engine.begin() as conn:
        await conn.exec_driver_sql("CREATE TABLE row (id INTEGER PRIMARY KEY, n INTEGER)")
    yield database
    await database.dispose()


async def test_writers_of_one_process_queue_instead_of_failing_on_the_lock(
    db: Database,
) -> None:
    """With no busy timeout at all, SQLite refuses a second writer at once ("database is
    locked"); 30 units of work writing at the same time, each awaiting between its writes,
    all succeed because they take turns before SQLite is asked."""

    @event.listens_for(db.engine.sync_engine, "connect")
    def _no_wait(dbapi_conn: Any, _record: Any) -> None:
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA busy_timeout=0")
        cursor.close()

    await db.engine.dispose()  # new connections, with the pragma above

    async def unit(n: int) -> None:
        async with db.session() as session:
            await run(session, text("INSERT INTO row (n) VALUES (:n)"), {"n": n})
            await asyncio.sleep(0.005)  # the lock is held across an await, as in the app
            await run(session, text("UPDATE row SET n = n + 1000 WHERE n = :n"), {"n": n})
            await session.commit()

    await asyncio.gather(*(unit(n) for n in range(30)))
    async with db.session() as session:
        rows = (await run(session, text("SELECT n FROM row ORDER BY n"))).scalars().all()
    assert rows == [n + 1000 for n in range(30)]


async def test_a_failed_unit_of_work_gives_the_turn_back(db: Database) -> None:
    async def failing() -> None:
        async with db.session() as session:
            await run(session, text("INSERT INTO row (n) VALUES (1)"))
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        await failing()
    async with db.session() as session:  # would wait 30 s if the turn were still held
        await asyncio.wait_for(run(session, text("INSERT INTO row (n) VALUES (2)")), 5)
        await session.commit()
        rows = (await run(session, text("SELECT n FROM row"))).scalars().all()
    assert rows == [2]


async def test_a_transaction_holding_the_lock_runs_on_the_loop_thread(db: Database) -> None:
    loop_thread = threading.get_ident()
    async with db.session() as session:
        before = (await run(session, text("SELECT thread_id()"))).scalar_one()
        await run(session, text("INSERT INTO row (n) VALUES (1)"))
        during = (await run(session, text("SELECT thread_id()"))).scalar_one()
        await session.commit()
        after = (await run(session, text("SELECT thread_id()"))).scalar_one()
    assert before != loop_thread  # a plain read: the driver's thread
    assert during == loop_thread  # the write lock is held: nothing can make it wait
    assert after != loop_thread  # committed: back to the driver's thread


async def test_the_write_opening_a_transaction_runs_on_the_loop_thread_when_the_lock_is_free(
    db: Database,
) -> None:
    loop_thread = threading.get_ident()
    async with db.session() as session:
        await run(session, text("INSERT INTO row (n) VALUES (thread_id())"))
        await session.commit()
    async with db.session() as session:
        written = (await run(session, text("SELECT n FROM row"))).scalar_one()
        # and the connection's busy timeout, set to 0 for that try, is given back
        busy = (await run(session, text("PRAGMA busy_timeout"))).scalar_one()
    assert written == loop_thread
    assert busy == 30000


async def test_quick_sessions_read_on_the_loop_thread(db: Database) -> None:
    loop_thread = threading.get_ident()
    async with db.session(quick=True) as session:
        quick = (await run(session, text("SELECT thread_id()"))).scalar_one()
    async with db.session() as session:
        plain = (await run(session, text("SELECT thread_id()"))).scalar_one()
    assert quick == loop_thread
    assert plain != loop_thread


async def test_another_process_lock_is_waited_for_off_the_loop(
    db: Database, tmp_path: Path
) -> None:
    """Another process (here a plain sqlite3 connection) holds the write lock for 0.6 s: the
    quick unit of work's first write, refused at once on the loop, waits in the driver's
    thread, and the event loop keeps turning."""
    other = sqlite3.connect(tmp_path / "writes.db", timeout=30, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO row (n) VALUES (0)")

    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    async def write() -> float:
        start = time.monotonic()
        async with db.session(quick=True) as session:
            await run(session, text("INSERT INTO row (n) VALUES (thread_id())"))
            await run(session, text("INSERT INTO row (n) VALUES (1)"))
            await session.commit()
        return time.monotonic() - start

    ticking = asyncio.create_task(ticker())
    writing = asyncio.create_task(write())
    await asyncio.sleep(0.6)
    assert not writing.done()
    other.execute("COMMIT")
    other.close()
    waited = await asyncio.wait_for(writing, 10)
    ticking.cancel()
    assert waited >= 0.5
    assert ticks >= 20  # ~60 without a blocked loop; 0 if the wait had been on the loop
    async with db.session() as session:
        rows = (await run(session, text("SELECT n FROM row ORDER BY id"))).scalars().all()
        busy = (await run(session, text("PRAGMA busy_timeout"))).scalar_one()
    # Tried on the loop at once, refused (busy), undone, then waited for and written by the
    # driver's thread; the second write of the transaction, holding the lock, on the loop.
    assert rows[0] == 0 and rows[2] == 1
    assert rows[1] not in (0, 1, threading.get_ident())
    assert busy == 30000


async def test_a_quick_unit_of_work_never_waits_for_the_driver_thread(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its statements and its end (the pool's reset of the connection) run on the loop: a
    hand-off to the driver's thread costs a loop turn, more than a point look-up."""
    handed: list[str] = []
    to_thread = aiosqlite.Connection._execute

    async def counted(self: Any, fn: Any, *args: Any, **kwargs: Any) -> Any:
        handed.append(getattr(fn, "__name__", repr(fn)))
        return await to_thread(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    async with db.session() as session:  # the connection exists, as in a running worker
        await run(session, text("SELECT 1"))
    handed.clear()
    async with db.session(quick=True) as session:
        await run(session, text("INSERT INTO row (n) VALUES (1)"))
        await session.commit()
        assert (await run(session, text("SELECT count(*) FROM row"))).scalar_one() == 1
    assert handed == []
    async with db.session() as session:  # a plain one still reads on the driver's thread
        await run(session, text("SELECT 1"))
    assert handed


async def test_a_quick_unit_of_work_ends_without_a_turn_of_the_event_loop(db: Database) -> None:
    """Its session's close (the pool's reset) runs in the unit's own task: another task cannot
    run between its commit and what the unit does next (publishing the message)."""
    turned: list[int] = []
    async with db.session(quick=True) as session:
        await run(session, text("INSERT INTO row (n) VALUES (1)"))
        await session.commit()
        asyncio.get_running_loop().call_soon(turned.append, 1)
    assert turned == []
    assert db.engine.pool.checkedout() == 0  # type: ignore[attr-defined]


async def test_a_close_that_waits_is_finished_even_when_its_task_is_cancelled(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the close does wait (here its rollback goes to the driver's thread and is held
    there), a cancellation of the unit's task is raised only once the connection is back in
    the pool, with its write undone and SQLite's lock given back."""
    held, waiting = asyncio.Event(), asyncio.Event()
    to_thread = aiosqlite.Connection._execute

    async def slow_rollback(self: Any, fn: Any, *args: Any, **kwargs: Any) -> Any:
        if getattr(fn, "__name__", "") == "rollback":
            waiting.set()
            await held.wait()
        return await to_thread(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", slow_rollback)

    async def unit() -> None:
        async with db.session(quick=True) as session:
            await run(session, text("INSERT INTO row (n) VALUES (7)"))
            adapted = (await session.connection()).sync_connection.connection.dbapi_connection  # type: ignore[union-attr]
            adapted._connection.to_thread = True  # type: ignore[union-attr]

    task = asyncio.create_task(unit())
    await asyncio.wait_for(waiting.wait(), 5)
    task.cancel()
    await asyncio.sleep(0.05)
    assert not task.done()  # still closing, whatever the cancellation
    held.set()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 5)
    assert db.engine.pool.checkedout() == 0  # type: ignore[attr-defined]
    async with db.session(quick=True) as session:  # the lock is free: written at once
        await run(session, text("INSERT INTO row (n) VALUES (8)"))
        await session.commit()
    async with db.session() as session:
        rows = (await run(session, text("SELECT n FROM row"))).scalars().all()
    assert rows == [8]


# The hot path's writes past SQLAlchemy (db.plain_write): statements built once, as the app's.
_INSERT_THREAD = text("INSERT INTO row (n) VALUES (thread_id())")
_INSERT_N = text("INSERT INTO row (n) VALUES (:n)")


async def test_a_plain_first_write_takes_its_turn_and_the_lock_on_the_loop(db: Database) -> None:
    """``db.plain_write`` opening a transaction takes the worker's writers' turn and SQLite's
    lock itself (app.sqlite_writes.lock_here), then runs on the driver on the loop's thread:
    30 units writing at once with no busy timeout at all all succeed, in turns."""

    @event.listens_for(db.engine.sync_engine, "connect")
    def _no_wait(dbapi_conn: Any, _record: Any) -> None:
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA busy_timeout=0")
        cursor.close()

    await db.engine.dispose()
    for _ in range(2):  # each statement's second run is compiled once (app.sqlite_reads)
        async with db.session(quick=True) as session:
            await plain_write(session, _INSERT_THREAD, {})
            await plain_write(session, _INSERT_N, {"n": -1})
            await session.rollback()
    through_sqlalchemy: list[Any] = []
    event.listen(db.engine.sync_engine, "before_execute", lambda *a: through_sqlalchemy.append(a))

    async def unit(n: int) -> None:
        async with db.session(quick=True) as session:
            await plain_write(session, _INSERT_N, {"n": n})
            await asyncio.sleep(0.005)  # the lock is held across an await, as in the app
            await plain_write(session, _INSERT_THREAD, {})
            await session.commit()

    await asyncio.gather(*(unit(n) for n in range(30)))
    assert through_sqlalchemy == []
    async with db.session() as session:
        rows = (await run(session, text("SELECT n FROM row ORDER BY id"))).scalars().all()
    loop_thread = threading.get_ident()
    assert sorted(rows[0::2]) == list(range(30)) and rows[1::2] == [loop_thread] * 30


async def test_a_plain_first_write_waits_for_another_process_off_the_loop(
    db: Database, tmp_path: Path
) -> None:
    """SQLite's lock held by another process: the lock's try on the loop is refused at once,
    and the write goes through SQLAlchemy, waiting in the driver's thread."""
    for _ in range(2):
        async with db.session(quick=True) as session:
            await plain_write(session, _INSERT_THREAD, {})
            await session.rollback()
    other = sqlite3.connect(tmp_path / "writes.db", timeout=30, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO row (n) VALUES (0)")

    async def write() -> None:
        async with db.session(quick=True) as session:
            await plain_write(session, _INSERT_THREAD, {})
            await plain_write(session, _INSERT_N, {"n": 1})
            await session.commit()

    writing = asyncio.create_task(write())
    await asyncio.sleep(0.5)
    assert not writing.done()
    other.execute("COMMIT")
    other.close()
    await asyncio.wait_for(writing, 10)
    async with db.session() as session:
        rows = (await run(session, text("SELECT n FROM row ORDER BY id"))).scalars().all()
    assert rows[0] == 0 and rows[2] == 1
    assert rows[1] not in (0, 1, threading.get_ident())  # the driver's thread
