"""One writer at a time per process on SQLite, queued in asyncio rather than in SQLite.

SQLite lets one transaction write at a time. The driver opens a transaction at the first
``INSERT``/``UPDATE``/``DELETE`` and the write lock is held until the commit; a second
connection wanting to write meanwhile waits in SQLite's busy handler, which *sleeps* between
tries (1, 2, 5, … up to 100 ms). Under a chat load, where a unit of work holds the lock across a
few event-loop turns, those sleeps made the tail: a first write waited 60–320 ms on average and
the slowest seconds, while the lock was free most of the time.

Here a connection about to open a write transaction first takes a per-process asyncio lock and
gives it back when its transaction ends (commit, rollback, or the pool's reset when it is
returned): writers of one worker queue in order and each starts the moment the previous one has
committed. Readers are never queued (WAL lets them read beside the writer). Writers of *other*
processes on the same file still meet in SQLite's busy handler, as before.

The lock is awaited from inside SQLAlchemy's synchronous layer through its greenlet bridge
(``await_only``), which is where every statement of an async engine runs.

The write opening a transaction is tried on the event loop's thread with no busy timeout:
SQLite's lock is free unless another process holds it, and then SQLite says so at once; the
try is rolled back (only the driver's deferred ``BEGIN`` had run) and the statement goes to the
driver's thread, where waiting for the other process cannot stall the event loop. Once the
first write has gone through, the connection holds SQLite's write lock and nothing can make it
wait: the rest of its transaction — a few point writes and the commit, tens of microseconds
each under WAL — runs on the loop's thread too, instead of handing each statement to the
driver's thread and waiting for a loop turn to hear back. Under load that hand-off, not SQLite,
was most of the time the lock was held (the first write alone more than half of it), and the
lock's hold time bounds how many chat messages a worker can store per second. Bulk statements
(``executemany``) still go to the thread, but for those of quick units of work (below).

The units of work of the chat's hot path (storing a visitor's message, an adviser's reply, a
socket's hello) also read on the loop's thread: :func:`quick` marks them. Their reads are point
look-ups by key, shorter than the hand-off, and a WAL reader never waits for a lock. Other
reads (dashboards, search, exports) stay on the driver's thread, where a long one cannot stall
the chat.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import sqlite3
import weakref
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Any, cast

import aiosqlite
from sqlalchemy import event, exc
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
)
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.util import await_only

# Longer than SQLite's own busy timeout would be pointless: a writer waiting this long is stuck
# behind one that will not finish (a unit of work nested in another, both writing).
WAIT_SECONDS = 30.0
_OPENS_WRITE = ("INSERT", "UPDATE", "DELETE", "REPLACE", "BEGIN")

log = logging.getLogger(__name__)
_QUICK: ContextVar[bool] = ContextVar("sqlite_quick", default=False)


@contextlib.contextmanager
def quick() -> Iterator[None]:
    """Statements of the current task run on the event loop's thread (see the module's text);
    a write that must wait for the lock still waits on the driver's."""
    token = _QUICK.set(True)
    try:
        yield
    finally:
        _QUICK.reset(token)


class _InlineConnection(aiosqlite.Connection):
    """aiosqlite's connection, which can run its calls on the caller's thread while ``inline``
    (set only while its transaction holds the write lock; calls on one connection never
    overlap: SQLAlchemy awaits each before the next)."""

    inline = False  # this connection's transaction holds the write lock
    to_thread = False  # the statement under way may be long: the driver's thread
    first_write = False  # the statement under way opens a write transaction
    busy_ms: int | None = None  # the connection's own busy timeout, given back after a try
    queue: WriteQueue | None = None  # the writers' queue of its engine, in this process

    def runs_here(self) -> bool:
        """Whether the call under way runs (or, opening a write, is tried) on this thread."""
        return (
            self._running
            and self._connection is not None
            and not self.to_thread
            and (self.first_write or self.inline or _QUICK.get())
        )

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if self.runs_here():
            if not self.first_write:
                return fn(*args, **kwargs)
            tried, result = self._try_first_write(fn, *args, **kwargs)
            if tried:
                return result
        return await super()._execute(fn, *args, **kwargs)  # type: ignore[no-untyped-call]

    def _try_first_write(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Runs the write opening a transaction here, without waiting: SQLite's lock is free
        unless another process holds it. If it does, the try is undone and the statement
        goes to the driver's thread to wait there, as if it had never been tried."""
        driver = self._connection
        if getattr(fn, "__name__", "") != "execute":  # making or closing a cursor: no lock
            return True, fn(*args, **kwargs)
        if driver is None or driver.in_transaction:
            return False, None
        if self.busy_ms is None:
            self.busy_ms = int(driver.execute("PRAGMA busy_timeout").fetchone()[0])
        driver.execute("PRAGMA busy_timeout=0")
        try:
            result = fn(*args, **kwargs)
        except sqlite3.OperationalError as error:
            if getattr(error, "sqlite_errorcode", 0) & 0xFF != sqlite3.SQLITE_BUSY:
                raise
            driver.rollback()  # the deferred BEGIN the driver issued; nothing was written
            return False, None
        finally:
            driver.execute(f"PRAGMA busy_timeout={self.busy_ms}")
        self.first_write, self.inline = False, True  # the lock is this transaction's now
        return True, result


class _InlineCursor(AsyncAdapt_aiosqlite_cursor):
    """SQLAlchemy's cursor over aiosqlite, cut short for calls that never wait. Making and
    closing a cursor take no lock: they run here, where aiosqlite would pass each through
    the greenlet bridge and its thread (or, inline, a coroutine of its own). A statement its
    connection would run on this thread (:meth:`_InlineConnection.runs_here`) is run by one
    coroutine of this cursor's, still awaited once: SQLAlchemy's async connection requires
    each statement to await something. Measured: about 6 µs of a quick statement's 40–50
    (``bench.hot_path``: 3–4 % of a cycle).
    """

    __slots__ = ()

    def _make_new_cursor(self, connection: Any) -> Any:
        if isinstance(connection, _InlineConnection) and connection._running:
            driver = connection._connection
            if driver is not None:
                return aiosqlite.Cursor(connection, driver.cursor())
        return super()._make_new_cursor(connection)

    def _aenter_cursor(self, cursor: Any) -> Any:
        if isinstance(cursor, aiosqlite.Cursor):  # made here, ready
            return cursor
        return super()._aenter_cursor(cursor)

    def execute(self, operation: Any, parameters: Any = None) -> Any:
        driver = self._connection
        if (
            not isinstance(driver, _InlineConnection)
            or not driver.runs_here()
            or self._adapt_connection._execute_mutex.locked()
        ):
            return super().execute(operation, parameters)
        try:
            return await_only(self._execute_here(driver, operation, parameters))
        except Exception as error:
            self._adapt_connection._handle_exception(error)

    async def _execute_here(
        self, driver: _InlineConnection, operation: Any, parameters: Any
    ) -> Any:
        cursor = self._driver_cursor()
        arguments = () if parameters is None else parameters
        if not driver.first_write:
            cursor.execute(operation, arguments)
        else:
            tried, _ = driver._try_first_write(cursor.execute, operation, arguments)
            if not tried:  # another process writes: this one waits on the driver's thread
                driver.to_thread = True
                return await self._execute_async(operation, parameters)
        if cursor.description:
            self._rows = collections.deque(cursor.fetchall())
        return self._cursor

    def close(self) -> None:
        driver = self._connection
        if (
            isinstance(driver, _InlineConnection)
            and driver._running
            and self._cursor is not None
            and not self._soft_closed_memoized
        ):
            self._rows.clear()
            self._driver_cursor().close()  # takes no lock and never waits
            return
        super().close()

    def _driver_cursor(self) -> sqlite3.Cursor:
        """The ``sqlite3`` cursor inside aiosqlite's."""
        return cast(aiosqlite.Cursor, self._cursor)._cursor


class _InlineAdaptedConnection(AsyncAdapt_aiosqlite_connection):
    """SQLAlchemy's connection over aiosqlite, with the cursor above, and a commit or a
    rollback run directly when the connection would run it on this thread."""

    __slots__ = ()
    _cursor_cls = _InlineCursor

    def commit(self) -> None:
        if not self._ended_here("commit"):
            super().commit()

    def rollback(self) -> None:
        if not self._ended_here("rollback"):
            super().rollback()

    def _ended_here(self, ending: str) -> bool:
        """Commits or rolls back (``ending``) on this thread if the connection runs here."""
        driver = self._connection
        if not isinstance(driver, _InlineConnection) or not driver.runs_here():
            return False
        try:
            getattr(driver._conn, ending)()
        except Exception as error:
            self._handle_exception(error)
        return True


def _can_run_inline() -> bool:
    return callable(getattr(aiosqlite.Connection, "_execute", None))


class _Gate:
    """The lock of one event loop and the connection holding it."""

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.holder: Any = None


class WriteQueue:
    """The gates of one engine, one per event loop (tests run several loops one after
    another; an asyncio lock belongs to the loop it was first used in)."""

    def __init__(self) -> None:
        self._gates: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Gate] = (
            weakref.WeakKeyDictionary()
        )

    def _gate(self) -> _Gate | None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # a connection reset outside any loop (garbage collection)
            return None
        gate = self._gates.get(loop)
        if gate is None:
            gate = self._gates[loop] = _Gate()
        return gate

    async def _take(self, gate: _Gate) -> None:
        # A free lock is taken at once: no task, no turn of the event loop (``wait_for``
        # would make both, and another unit of work could run before this one goes on).
        try:
            async with asyncio.timeout(WAIT_SECONDS):
                await gate.lock.acquire()
        except TimeoutError:
            raise sqlite3.OperationalError("database is locked") from None

    def before_write(self, dbapi_connection: Any) -> None:
        gate = self._gate()
        if gate is None or gate.holder is dbapi_connection:
            return
        await_only(self._take(gate))
        gate.holder = dbapi_connection
        # SQLite's lock may still be another process's: tried here, waited for off the loop.
        _set(dbapi_connection, first_write=True)

    def after_statement(self, dbapi_connection: Any) -> None:
        # Runs after every statement: the flags are set directly, not through _set.
        driver = getattr(dbapi_connection, "_connection", None)
        if not isinstance(driver, _InlineConnection):
            return
        gate = self._gate()
        if gate is not None and gate.holder is dbapi_connection:
            driver.inline = True
        driver.to_thread = driver.first_write = False

    def after_transaction(self, dbapi_connection: Any) -> None:
        _set(dbapi_connection, inline=False, to_thread=False, first_write=False)
        gate = self._gate()
        if gate is not None and gate.holder is dbapi_connection:
            gate.holder = None
            gate.lock.release()


def _set(dbapi_connection: Any, **flags: bool) -> None:
    driver = getattr(dbapi_connection, "_connection", None)
    if isinstance(driver, _InlineConnection):
        for name, value in flags.items():
            setattr(driver, name, value)


def queue_writes(engine: AsyncEngine) -> WriteQueue:
    """Makes the writers of ``engine`` (a SQLite one) take turns in this process."""
    queue = WriteQueue()
    sync_engine = engine.sync_engine
    dialect = sync_engine.dialect

    @event.listens_for(sync_engine, "before_cursor_execute")
    def _before(
        conn: Any, _cursor: Any, statement: str, _params: Any, _context: Any, many: bool
    ) -> None:
        raw = _raw(conn.connection)
        if _opens_write(statement):
            queue.before_write(raw)
        if many and not _QUICK.get():
            # A bulk statement may be long; a quick unit's (two or three rows of one table,
            # flushed together) is as short as a single one, and goes to the thread no more.
            _set(raw, to_thread=True)

    @event.listens_for(sync_engine, "after_cursor_execute")
    def _after(
        conn: Any, _cursor: Any, _statement: str, _params: Any, _context: Any, _many: bool
    ) -> None:
        queue.after_statement(_raw(conn.connection))

    inline = _can_run_inline()
    if not inline:
        log.warning("aiosqlite has no Connection._execute: SQLite writes stay on its thread")

    @event.listens_for(sync_engine.pool, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        driver = getattr(dbapi_connection, "_connection", None)
        if inline and type(driver) is aiosqlite.Connection:
            driver.__class__ = _InlineConnection  # same objects, a few methods more
            cast(_InlineConnection, driver).queue = queue
            if type(dbapi_connection) is AsyncAdapt_aiosqlite_connection:
                dbapi_connection.__class__ = _InlineAdaptedConnection

    # After the driver's commit or rollback, not before (the engine's "commit" event): the next
    # writer must find SQLite's lock free, or it would sleep in the busy handler after all. The
    # pool resets a returned connection through the same dialect method.
    commit, rollback = dialect.do_commit, dialect.do_rollback

    def do_commit(dbapi_connection: Any) -> None:
        try:
            commit(dbapi_connection)
        finally:
            queue.after_transaction(_raw(dbapi_connection))

    def do_rollback(dbapi_connection: Any) -> None:
        try:
            rollback(dbapi_connection)
        finally:
            queue.after_transaction(_raw(dbapi_connection))

    dialect.do_commit = do_commit  # type: ignore[method-assign]
    dialect.do_rollback = do_rollback  # type: ignore[method-assign]

    @event.listens_for(sync_engine.pool, "checkin")
    def _checkin(dbapi_connection: Any, _record: Any) -> None:
        if dbapi_connection is not None:  # a connection closed without a rollback
            queue.after_transaction(dbapi_connection)

    return queue


_WRITES: dict[str, bool] = {}  # per statement text: whether it opens a write (asked each time)
_WRITES_KEPT = 4096


def _opens_write(statement: str) -> bool:
    found = _WRITES.get(statement)
    if found is None:
        found = statement.lstrip()[:7].upper().startswith(_OPENS_WRITE)
        if len(_WRITES) < _WRITES_KEPT:  # the app's statements are a few hundred texts
            _WRITES[statement] = found
    return found


def _raw(connection: Any) -> Any:
    """The driver's connection behind the pool's proxy (a new proxy each checkout)."""
    return getattr(connection, "dbapi_connection", connection)


def driver_here(dbapi_connection: Any) -> sqlite3.Connection | None:
    """The ``sqlite3`` connection under SQLAlchemy's ``dbapi_connection`` when a read may run
    on it here and now (:mod:`app.sqlite_reads`): a connection of this module's whose calls
    run on this thread (:meth:`_InlineConnection.runs_here`), not opening a write, with no
    other call under way; None otherwise."""
    driver = getattr(dbapi_connection, "_connection", None)
    if not isinstance(driver, _InlineConnection) or driver.first_write or not driver.runs_here():
        return None
    if dbapi_connection._execute_mutex.locked():
        return None
    return driver._connection


async def lock_here(dbapi_connection: Any) -> bool:
    """Makes the transaction of ``dbapi_connection`` hold the write lock for a write about to
    run on its driver here (:func:`app.sqlite_reads.write`), as a write through SQLAlchemy
    takes it: the worker's writers' turn, awaited, then SQLite's lock, tried without waiting
    (``BEGIN IMMEDIATE``). True when the transaction holds both. False when the connection
    does not run on this thread, or another process holds SQLite's lock: the write then goes
    through SQLAlchemy, which tries it again and waits on the driver's thread."""
    driver = getattr(dbapi_connection, "_connection", None)
    if not isinstance(driver, _InlineConnection) or driver.queue is None:
        return False
    if driver.inline:
        return True
    sqlite = driver._connection
    if (
        sqlite is None
        or sqlite.in_transaction
        or driver.first_write
        or not driver.runs_here()
        or dbapi_connection._execute_mutex.locked()
    ):
        return False
    gate = driver.queue._gate()
    if gate is None:
        return False
    if gate.holder is not dbapi_connection:
        await driver.queue._take(gate)
        gate.holder = dbapi_connection
    try:
        tried, _ = driver._try_first_write(sqlite.execute, "BEGIN IMMEDIATE")
    except sqlite3.Error as error:  # as SQLAlchemy's execution would raise it
        raise exc.DBAPIError.instance("BEGIN IMMEDIATE", (), error, sqlite3.Error) from error
    if not tried:  # another process writes: the statement's own try, then the thread
        driver.first_write = True
    return bool(tried)


def writer_here(dbapi_connection: Any) -> sqlite3.Connection | None:
    """The ``sqlite3`` connection under ``dbapi_connection`` when a write may run on it here
    and now (:mod:`app.sqlite_reads`): as :func:`driver_here`, and its transaction already
    holds the write lock (a write that would open one goes through SQLAlchemy, which queues
    it and tries SQLite's lock); None otherwise."""
    driver = getattr(dbapi_connection, "_connection", None)
    if not isinstance(driver, _InlineConnection) or not driver.inline:
        return None
    return driver_here(dbapi_connection)
