"""The hot path's reads on SQLite, run on the driver itself rather than through SQLAlchemy's
execution of each statement.

A point read of the chat's hot path (``db.plain_rows``: the labels and contact of a live
event's line, the open response turn, the block list, the keyword rules…) took about 50 µs
through SQLAlchemy Core, of which SQLite itself takes 3: each execution looks its compiled
form up by cache key, processes its parameters, builds an execution context and a result,
and passes through the greenlet bridge. Here it takes 10–16 µs. The app's hot statements
are built once (module constants): each, from its second run, is compiled once for SQLite,
with its parameters' order and the type processors of its parameters and columns
(SQLAlchemy's own, as its execution applies them: aware UTC datetimes, enums…), and run on
the ``sqlite3`` connection of the unit of work, in its transaction, when that connection runs
on the event loop's thread anyway (:mod:`app.sqlite_writes`: a quick unit of work, or one
holding the write lock). The rows are named tuples with the statement's column keys (read by
position or by name, as SQLAlchemy's rows are).

The engine's cursor events still see each statement, in order, as SQLAlchemy calls them (the
text cleaning of :mod:`app.db`, the write queue, the statement counters of the benches and
tests). Any other case goes through SQLAlchemy as before: another engine, a statement run
once so far or built for each call, one with an expanding or literal parameter or unnamed
columns, a connection on the driver's thread. A driver error is raised as SQLAlchemy's
execution raises it (``sqlalchemy.exc.DBAPIError`` and its kinds).

The hot path's point writes go the same way (:func:`write`: an ``INSERT``, ``UPDATE`` or
``DELETE`` of one table, or a ``text()`` statement), once their transaction holds SQLite's
write lock: ``db.plain_write`` takes it for a transaction's first write as SQLAlchemy's
execution would, behind the worker's other writers (:func:`app.sqlite_writes.lock_here`;
a lock held by another process sends the write through SQLAlchemy). An insert or update
is compiled for its parameters' keys, as SQLAlchemy's execution compiles it; one whose
compiled form would have SQLAlchemy evaluate a column default, or return rows, goes through
SQLAlchemy.
"""

from __future__ import annotations

import collections
import keyword
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, cast

from sqlalchemy import exc
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.sql import Delete, Insert, Select, TextClause, Update

from app import sqlite_writes


@dataclass(frozen=True, slots=True)
class _Plan:
    """A statement compiled once: its SQL, its compiled form (for its parameters' defaults),
    its positional parameters with their processors, and its rows' shape (a read's); a
    write's is compiled for the parameter keys it was first run with (``keys``)."""

    sql: str
    compiled: Any
    names: tuple[str, ...]
    binds: tuple[Callable[[Any], Any] | None, ...]
    columns: tuple[Callable[[Any], Any] | None, ...]
    row: Callable[[Sequence[Any]], tuple[Any, ...]]
    keys: frozenset[str] | None = None
    inserts: bool = False  # an insert: the new row's id is the cursor's


class Written(NamedTuple):
    """What a write did: the rows it changed, and for an insert the new row's id."""

    rowcount: int
    lastrowid: int | None


# By the statement's id, the statement kept with it (an id is unique only while it lives):
# its plan, ``None`` for one that always goes through SQLAlchemy, or ``_ONCE`` for one seen a
# single time so far. A statement is compiled here at its second run only: one built for each
# call (never run twice) is left to SQLAlchemy's cache, which finds it by its cache key.
_ONCE = object()
_PLANS: dict[int, tuple[object, object]] = {}
_PLANS_KEPT = 512


def rows(
    connection: Connection, statement: object, params: Mapping[str, Any]
) -> list[tuple[Any, ...]] | None:
    """The rows of ``statement`` read on ``connection``'s driver here and now, or None when it
    cannot be (the caller then runs it through SQLAlchemy)."""
    driver = sqlite_writes.driver_here(connection.connection.dbapi_connection)
    if driver is None:
        return None
    plan = _plan(statement, connection.dialect, params)
    if plan is None or plan.keys is not None:
        return None
    found, _ = _run(connection, driver, plan, params)
    processors = plan.columns
    return [
        plan.row([v if p is None else p(v) for v, p in zip(row, processors, strict=True)])
        for row in found
    ]


def write(connection: Connection, statement: object, params: Mapping[str, Any]) -> Written | None:
    """Runs the write ``statement`` on ``connection``'s driver here and now, or returns None
    when it cannot be (the caller then runs it through SQLAlchemy)."""
    driver = sqlite_writes.writer_here(connection.connection.dbapi_connection)
    if driver is None:
        return None
    plan = _plan(statement, connection.dialect, params)
    if plan is None or plan.keys is None or params.keys() != plan.keys:
        return None
    _, written = _run(connection, driver, plan, params)
    return written if plan.inserts else written._replace(lastrowid=None)


def _run(
    connection: Connection, driver: sqlite3.Connection, plan: _Plan, params: Mapping[str, Any]
) -> tuple[list[Any], Written]:
    """The statement's rows, and what it wrote, run on ``driver`` between the engine's cursor
    events."""
    values = plan.compiled.construct_params(params)
    arguments: Any = tuple(
        value if process is None else process(value)
        for value, process in zip((values[name] for name in plan.names), plan.binds, strict=True)
    )
    sql = plan.sql
    cursor = driver.cursor()
    try:
        dispatch = connection.dispatch
        for before in dispatch.before_cursor_execute:
            sql, arguments = before(connection, cursor, sql, arguments, None, False)
        try:
            cursor.execute(sql, arguments)
            found = cursor.fetchall() if cursor.description else []
        except sqlite3.Error as error:
            raise exc.DBAPIError.instance(sql, arguments, error, sqlite3.Error) from error
        for after in dispatch.after_cursor_execute:
            after(connection, cursor, sql, arguments, None, False)
        return found, Written(cursor.rowcount, cursor.lastrowid)
    finally:
        cursor.close()


def _plan(statement: object, dialect: Dialect, params: Mapping[str, Any]) -> _Plan | None:
    kept = _PLANS.get(id(statement))
    if kept is not None and kept[0] is statement and kept[1] is not _ONCE:
        return cast(_Plan | None, kept[1])
    seen_once = kept is not None and kept[0] is statement
    plan = _compiled(statement, dialect, params) if seen_once else None
    if len(_PLANS) >= _PLANS_KEPT:  # statements built per call, run once each: not kept
        _PLANS.clear()
    _PLANS[id(statement)] = (statement, plan if seen_once else _ONCE)
    return plan


def _compiled(statement: object, dialect: Dialect, params: Mapping[str, Any]) -> _Plan | None:
    if dialect.name != "sqlite" or not dialect.positional:
        return None
    if isinstance(statement, Select):
        return _read(statement, dialect)
    if isinstance(statement, (Insert, Update, Delete, TextClause)):
        return _written(statement, dialect, params)
    return None


def _written(
    statement: Insert | Update | Delete | TextClause, dialect: Dialect, params: Mapping[str, Any]
) -> _Plan | None:
    # SQLAlchemy's execution compiles an insert or an update for its parameters' keys (the
    # columns it sets); a column default it would evaluate, or rows returned, are left to it.
    keys = sorted(params)
    compiled: Any = statement.compile(dialect=dialect, column_keys=keys)
    if compiled.insert_prefetch or compiled.update_prefetch or compiled.effective_returning:
        return None
    return _bound(
        compiled,
        dialect,
        columns=(),
        row=tuple,
        keys=frozenset(keys),
        inserts=keyed_insert(statement),
    )


def keyed_insert(statement: object) -> bool:
    """Whether ``statement`` is an ``insert()`` of a table with one integer key, whose new
    row's id a write gives back."""
    table = getattr(statement, "table", None) if isinstance(statement, Insert) else None
    return getattr(table, "autoincrement_column", None) is not None


def _bound(compiled: Any, dialect: Dialect, **shape: Any) -> _Plan | None:
    """The plan of ``compiled``, with its positional parameters' names and processors, or
    None if SQLAlchemy must build its text at each run (an expanding or literal parameter)
    or renamed a parameter."""
    binds = compiled.binds
    names = tuple(compiled.positiontup or ())
    if any(name not in binds for name in names):  # an escaped name: left to SQLAlchemy
        return None
    if any(binds[name].expanding or binds[name].literal_execute for name in names):
        return None
    if compiled.literal_execute_params or compiled.post_compile_params:
        return None
    return _Plan(
        sql=compiled.string,
        compiled=compiled,
        names=names,
        binds=tuple(
            binds[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names
        ),
        **shape,
    )


def _read(statement: Select[Any], dialect: Dialect) -> _Plan | None:
    columns = list(statement.selected_columns)
    # The keys SQLAlchemy's rows have: a joined select's repeated names made unique ("id_1").
    # (A column collection iterates over its columns, not its keys.)
    named = statement.selected_columns.keys()
    keys = [str(key) for key in named if _plain_name(key)]
    if len(keys) != len(columns) or len(set(keys)) != len(keys):
        return None
    shape = collections.namedtuple("Row", keys)  # type: ignore[misc]
    return _bound(
        statement.compile(dialect=dialect),
        dialect,
        columns=tuple(
            column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns
        ),
        row=shape._make,
    )


def _plain_name(key: object) -> bool:
    return (
        isinstance(key, str)
        and key.isidentifier()
        and not keyword.iskeyword(key)
        and not key.startswith("_")
    )
