"""The SQL engine (SQLite by default, PostgreSQL through ``DATABASE_URL``) and sessions."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import sqlite3
import time
import types
import weakref
from collections.abc import AsyncIterator, Coroutine, Generator, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Connection, CursorResult, Executable, event, inspect
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    async_sessionmaker,
    create_async_engine,
)
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.orm.session import Session

from app import (
    migrations,
    models,  # noqa: F401  (registers the tables)
    orm_flush,
    relay_rows,  # noqa: F401  (registers the transactional outbox's table)
    search,
    sqlite_checkpoint,
    sqlite_reads,
    sqlite_writes,
)

# Any constant shared by every process migrating one PostgreSQL database: the advisory lock.
_MIGRATION_LOCK = 0x636F6E63  # "conc"
_SURROGATE = re.compile("[\ud800-\udfff]")
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def sqlite_file(url: str) -> str:
    """The file of a SQLite URL naming a plain file ("" for any other database, an in-memory
    one, or a URI with options)."""
    if not url.startswith("sqlite") or ":///" not in url:
        return ""
    path = url.split(":///", 1)[1]
    return path if path and path != ":memory:" and "?" not in path else ""


def make_engine(url: str, *, checkpoints_apart: bool = False) -> AsyncEngine:
    """``checkpoints_apart`` (a SQLite file's, see :func:`sqlite_file`): the connections leave
    WAL checkpoints to the process's :class:`app.sqlite_checkpoint.Checkpointer`."""
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[1] if ":///" in url else ""
        if path and path != ":memory:":
            Path(path).parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            if "?" not in path:  # a plain file name, not a URI with options
                _create_private(path)
                _start_in_wal_mode(path)
        # check_same_thread: a writing transaction runs its statements on the event loop's thread
        # once it holds the lock (app.sqlite_writes), the rest on the driver's.
        engine = create_async_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
        _store_only_valid_text(engine)
        sqlite_writes.queue_writes(engine)

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # WAL lets several worker processes read while one writes.
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            if checkpoints_apart:
                sqlite_checkpoint.pragmas(cursor)
            cursor.close()

        return engine
    # A server database: each process holds at most pool size + overflow connections, so
    # workers × (CONCIERGE_DATABASE_POOL_SIZE + CONCIERGE_DATABASE_MAX_OVERFLOW) must stay under
    # the server's max_connections (docs/operations.md).
    from app.settings import get_settings  # the deployment's bound, whoever opens the engine

    settings = get_settings()
    engine = create_async_engine(
        url,
        pool_pre_ping=True,
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_max_overflow,
    )
    _store_only_valid_text(engine)
    return engine


def _create_private(path: str) -> None:
    """The database holds every conversation and the users' password hashes: only its owner
    may read it. SQLite gives its -wal and -shm files the database file's own mode, so a file
    created 0600 keeps them private too; files of an older install are tightened here."""
    if not os.path.exists(path):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))  # empty: a valid database
    for suffix in ("", "-wal", "-shm", "-journal"):
        with contextlib.suppress(FileNotFoundError):
            os.chmod(path + suffix, 0o600)


def valid_text(value: str) -> str:
    """``value`` with each lone UTF-16 surrogate (which UTF-8 cannot carry) and each NUL
    (which PostgreSQL's text cannot hold) replaced by U+FFFD."""
    if value.isascii() and "\x00" not in value:
        return value
    return _UNSTORABLE.sub("\ufffd", value)


def _invalid(parameters: Any) -> bool:
    """Whether a statement's parameters hold text the database cannot store. Every statement
    is checked, so the usual case (a flat dict or tuple of numbers and clean text) is looked
    at in one loop, without a call per value."""
    if isinstance(parameters, str):
        return _invalid_text(parameters)
    if isinstance(parameters, dict):
        values: Any = parameters.values()
    elif isinstance(parameters, (list, tuple)):
        values = parameters
    else:
        return False
    for value in values:
        if type(value) is str:
            if "\x00" in value or (not value.isascii() and _SURROGATE.search(value)):
                return True
        elif isinstance(value, (str, dict, list, tuple)) and _invalid(value):
            return True
    return False


def _invalid_text(value: str) -> bool:
    return "\x00" in value or (not value.isascii() and _SURROGATE.search(value) is not None)


def _cleaned(parameters: Any) -> Any:
    if isinstance(parameters, str):
        return valid_text(parameters)
    if isinstance(parameters, dict):
        return {key: _cleaned(value) for key, value in parameters.items()}
    if isinstance(parameters, (list, tuple)):
        return type(parameters)(_cleaned(value) for value in parameters)
    return parameters


def _store_only_valid_text(engine: AsyncEngine) -> None:
    """Text with lone surrogates cannot be encoded for the database (UnicodeEncodeError at
    insert), and PostgreSQL refuses a NUL in text. HTTP bodies carrying surrogates are refused
    before any route (``app.web.input_guard``); text arriving any other way — a websocket
    frame's ``\\ud800`` escape, an e-mail's undecodable bytes kept as surrogates, a NUL in a
    query string or a frame — is stored (or looked up) with U+FFFD in their place, on either
    engine alike, instead of failing the whole statement."""

    @event.listens_for(engine.sync_engine, "before_cursor_execute", retval=True)
    def _clean(
        _conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool
    ) -> tuple[str, Any]:
        # Checked first: almost every statement is clean, and is then passed on untouched.
        return statement, _cleaned(parameters) if _invalid(parameters) else parameters


def _start_in_wal_mode(path: str) -> None:
    """Makes a new database file a WAL one before any engine connects to it.

    Switching the journal mode takes an exclusive lock without waiting for it, so processes
    opening a brand-new file at once (workers migrating it) would fail with "database is
    locked"; once the file is in WAL mode, asking for it again is a no-op."""
    for attempt in range(50):
        try:
            with contextlib.closing(sqlite3.connect(path, timeout=30)) as connection:
                connection.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError:
            if attempt == 49:
                raise
            time.sleep(0.1)  # start-up only, before the engine exists


async def migrate(engine: AsyncEngine) -> tuple[str | None, str | None]:
    """Brings the database to the newest schema; returns the revisions before and after.

    Every process may call it at start-up: the first one migrates and the others, waiting on the
    database's own lock (SQLite's write lock, a PostgreSQL advisory lock), find it done. The
    whole upgrade is one transaction, so a failed migration leaves the database as it was."""
    async with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            return await _migrate_sqlite(conn)
        if conn.dialect.name == "postgresql":
            await conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK})")
        revisions = await conn.run_sync(migrations.upgrade)
        await conn.commit()
        return revisions


async def _migrate_sqlite(conn: AsyncConnection) -> tuple[str | None, str | None]:
    # Recreating a table (SQLite's ALTER) must not cascade or fail on the rows that point at it:
    # foreign keys are off during the migration and checked before the commit, as SQLite's own
    # ALTER TABLE procedure does. The pragma only takes effect outside a transaction.
    await conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
    try:
        # The driver opens transactions only before writing rows: DDL would run outside one.
        # BEGIN IMMEDIATE takes the write lock now, so concurrent migrators wait for each other.
        await conn.exec_driver_sql("BEGIN IMMEDIATE")
        revisions = await conn.run_sync(migrations.upgrade)
        # A full scan of every table: only after a migration ran, not on every start-up.
        if revisions[0] != revisions[1]:
            broken = (await conn.exec_driver_sql("PRAGMA foreign_key_check")).all()
            if broken:
                raise RuntimeError(f"migration left rows with dangling foreign keys: {broken[:5]}")
        await conn.commit()
        return revisions
    except BaseException:
        await conn.rollback()
        raise
    finally:
        await conn.exec_driver_sql("PRAGMA foreign_keys=ON")
        await conn.commit()


async def create_tables(engine: AsyncEngine) -> None:
    """A fresh database straight from the models, stamped as migrated (tests, benchmarks).

    ``create_all`` is quicker than running every migration; the stamp makes a later ``migrate``
    a no-op, and ``tests/app/test_migrations.py`` keeps models and migrations in step. A database
    that already has tables is migrated instead: ``create_all`` would not alter them."""
    async with engine.begin() as conn:
        fresh = await conn.run_sync(_is_empty)
        if fresh:
            await conn.run_sync(SQLModel.metadata.create_all)
            await conn.run_sync(search.create)  # the full-text index is no model: made apart
            await conn.run_sync(search.create_mark)
            await conn.run_sync(migrations.stamp)
    if not fresh:
        await migrate(engine)


def _is_empty(connection: Connection) -> bool:
    return not inspect(connection).get_table_names()


def hold(session: AsyncSession, row: SQLModel) -> None:
    """Keeps ``row`` for the session's life: the identity map holds rows only weakly, and a
    later ``session.get`` of it in the same unit of work then reads memory, not the database."""
    session.info.setdefault("held_rows", {})[type(row), getattr(row, "id", None)] = row


async def plain_rows(
    session: AsyncSession, statement: Executable, params: Mapping[str, Any]
) -> Sequence[Any]:
    """The rows of ``statement`` read on the session's connection, past the ORM: columns by
    name, no objects built or tracked — for the chat's hot path, whose reads of rows it only
    looks at (a ``select(Model)`` gives the model's columns) cost a third as much this way.
    Like an ORM read, it sees what the unit of work changed: pending changes are flushed first
    (unless autoflush is off)."""
    if session.autoflush and (session.new or session.deleted or session.dirty):
        await session.run_sync(orm_flush.flush)
    connection = await connection_of(session)
    sync = connection.sync_connection
    if sync is not None and sync.dialect.name == "sqlite":  # on the driver when it runs here
        found = sqlite_reads.rows(sync, statement, params)
        if found is not None:
            return found
    return (await connection.execute(statement, dict(params))).all()


async def plain_write(
    session: AsyncSession, statement: Executable, params: Mapping[str, Any]
) -> sqlite_reads.Written:
    """Runs the write ``statement`` (an insert, update or delete of rows nothing of the unit of
    work reads back as objects) on the session's connection, past the ORM; returns the rows it
    changed, and the new row's id for an ``insert()`` of a table with one. On SQLite's quick
    path the driver itself runs it (:func:`app.sqlite_reads.write`), about a third of
    SQLAlchemy's execution, once the transaction holds the write lock
    (:func:`app.sqlite_writes.lock_here` takes it for the first write)."""
    connection = await connection_of(session)
    sync = connection.sync_connection
    # The transaction's first write takes the lock as SQLAlchemy's would (when it can here,
    # on the loop's thread), then runs on the driver too.
    if (
        sync is not None
        and sync.dialect.name == "sqlite"
        and await sqlite_writes.lock_here(sync.connection.dbapi_connection)
    ):
        written = sqlite_reads.write(sync, statement, params)
        if written is not None:
            return written
    result = await connection.execute(statement, dict(params))
    return sqlite_reads.Written(result.rowcount, new_id(statement, result))


def new_id(statement: object, result: CursorResult[Any]) -> int | None:
    """The id of the row an ``insert()`` of a table with one integer key made, else None."""
    if not sqlite_reads.keyed_insert(statement):
        return None
    inserted = result.inserted_primary_key
    return None if inserted is None or inserted[0] is None else int(inserted[0])


async def connection_of(session: AsyncSession) -> AsyncConnection:
    """``session.connection()``, kept for the rest of the session's transaction: asking the
    session each time costs a pass through the greenlet bridge (about 15 µs), and the chat's
    units of work write and read a dozen statements this way. A new transaction (after a
    commit or a rollback) or savepoint asks the session again."""
    sync = session.sync_session
    # The innermost transaction: a savepoint begun since needs the session to open it.
    transaction = sync.get_nested_transaction() or sync.get_transaction()
    kept = session.info.get(_CONNECTION)
    if kept is not None and transaction is not None and kept[0]() is transaction:
        return cast(AsyncConnection, kept[1])
    connection = await session.connection()
    # The transaction weakly: it refers to the session, whose ``info`` this is, and a cycle
    # would leave every unit of work (and the rows it held) to the garbage collector, whose
    # pauses the chat's tail then shows (app.gc_tuning).
    begun = sync.get_nested_transaction() or sync.get_transaction()
    assert begun is not None  # ``session.connection()`` begins one
    session.info[_CONNECTION] = (weakref.ref(begun), connection)
    return connection


_CONNECTION = "transaction_connection"


async def _close(session: AsyncSession) -> None:
    """``session.close()``, run by this task as far as it goes without waiting, which for a
    quick unit of work is all of it (the pool's reset runs on the loop's thread:
    :mod:`app.sqlite_writes`). SQLAlchemy's own exit runs the close in a task of its own,
    which costs two turns of the event loop at the end of every unit of work, and another
    task may run first at each. If the close does wait, its rest is finished as SQLAlchemy
    would: in a task of its own, which a cancellation of this one cannot abandon."""
    closing = session.close()
    try:
        awaited = closing.send(None)
    except StopIteration:
        return
    finish = asyncio.ensure_future(_resume(closing, awaited))
    cancelled: asyncio.CancelledError | None = None
    while not finish.done():
        try:
            await asyncio.shield(finish)
        except asyncio.CancelledError as error:
            cancelled = error
    finish.result()
    if cancelled is not None:
        raise cancelled


@types.coroutine
def _resume(coroutine: Coroutine[Any, Any, Any], awaited: Any) -> Generator[Any, Any, Any]:
    """Goes on with ``coroutine``, started elsewhere and now waiting on ``awaited``."""
    while True:
        try:
            sent = yield awaited
        except BaseException as error:  # thrown in by the task: passed on
            try:
                awaited = coroutine.throw(error)
            except StopIteration as done:
                return done.value
        else:
            try:
                awaited = coroutine.send(sent)
            except StopIteration as done:
                return done.value


class _Session(Session):
    """The app's sessions: each commit writes the changes of its loaded objects past the ORM's
    flush when it can (:mod:`app.orm_flush`)."""


orm_flush.install(_Session)


class Database:
    """Owns the engine; ``session()`` opens a unit of work."""

    def __init__(self, url: str, *, checkpoints_apart: bool = False) -> None:
        """``checkpoints_apart`` for a serving worker: on a SQLite file, a thread of its own
        checkpoints the WAL instead of the commits that fill it (:mod:`app.sqlite_checkpoint`)."""
        path = sqlite_file(url) if checkpoints_apart else ""
        self.engine = make_engine(url, checkpoints_apart=bool(path))
        self._sessions = async_sessionmaker(
            self.engine,
            class_=AsyncSession,
            sync_session_class=_Session,
            expire_on_commit=False,
        )
        self.checkpointer = sqlite_checkpoint.Checkpointer(path) if path else None

    @asynccontextmanager
    async def session(self, *, quick: bool = False) -> AsyncIterator[AsyncSession]:
        """A unit of work; ``quick`` for the chat's hot path, whose statements are point
        look-ups and short writes (on SQLite they then skip the driver's thread:
        :mod:`app.sqlite_writes`)."""
        if not quick:
            async with self._sessions() as session:
                yield session
            return
        # The session's end (the pool's reset of its connection) is part of the unit of work.
        with sqlite_writes.quick():
            session = self._sessions()
            try:
                yield session
            finally:
                await _close(session)

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self.checkpointer is not None:  # its connection, closing last, checkpoints all
            await asyncio.to_thread(self.checkpointer.stop)
