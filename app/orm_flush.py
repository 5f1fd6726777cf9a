"""The changes of a unit of work's loaded objects written past the ORM's flush.

The chat's hot path changes a few columns of one row per message (the conversation's unread
count, preview, last message time, assignee) and nothing else the ORM would flush: its new
rows are written past the ORM already (``app.message_insert``, ``db.plain_write``). The ORM's
flush of that one change cost about three times its ``UPDATE``: a unit-of-work transaction,
its dependency sort, a mapper's save plan, SQLAlchemy's execution of the statement. Here a
session whose only changes are column values of persistent objects has each object's
changed columns written by one ``UPDATE … WHERE id = ?`` (on SQLite's quick path, the driver
itself: :func:`app.sqlite_reads.write`), and the objects then registered as flushed by the
session's own means — as the flush leaves them: unchanged, their values committed, part of
the transaction (a rollback expires them). The mapper's ``after_update`` listeners run as the
flush runs them (the search index's, ``app.search``), with its connection. A row no longer
there raises ``StaleDataError``, as the flush does.

Anything else is the ORM's flush, as before: new or deleted objects, a session with flush
listeners, a mapper with ``before_update`` listeners (they may change the object), a changed
key or relationship, a value that is a SQL expression, a mapper with a version counter or
columns set on update, several tables.

:func:`flush` runs inside the session's synchronous layer: a ``before_commit`` listener
(:func:`install`) so that every commit of the app goes this way, and ``db.plain_rows``'s
autoflush.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, bindparam, event, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapper, Session
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.orm.state import InstanceState
from sqlalchemy.sql import ClauseElement, Update

from app import sqlite_reads

_KEY = "flush_key"  # the row's key in the statements made here (no column's name)


@dataclass(frozen=True, slots=True)
class _Table:
    """A mapper whose changes may be written here: its table, key column and columns."""

    table: Table
    key: Any
    columns: dict[str, Any]  # by attribute name: the column it maps (key excluded)


# The session's registration of flushed objects, which the flush's end calls: were a version
# of SQLAlchemy to lack it (or the identity map's set of changed objects), the ORM flushes.
_REGISTERS = callable(getattr(Session, "_register_persistent", None))
_MAPPERS: dict[Mapper[Any], _Table | None] = {}
_STATEMENTS: dict[tuple[Table, tuple[str, ...]], Update] = {}
_STATEMENTS_KEPT = 512


def install(sessions: type[Session]) -> None:
    """Every commit of a ``sessions`` session writes its changes as :func:`flush` does (the
    commit's own flush then finds nothing left)."""
    event.listen(sessions, "before_commit", flush)


def flush(session: Session) -> None:
    """Writes the session's changes: past the ORM's flush when they are only column values
    of persistent objects (see the module's text), else by ``session.flush()``."""
    modified = getattr(session.identity_map, "_modified", None)  # SQLAlchemy's own means
    if session.new or session.deleted or modified is None or not _REGISTERS:
        session.flush()
        return
    states = [state for state in modified if state.modified]
    if not states:
        return
    dispatch = session.dispatch
    listened = dispatch.before_flush or dispatch.after_flush or dispatch.after_flush_postexec
    work = None if listened else _work(states)
    if work is None:
        session.flush()
        return
    connection = session.connection()
    for state, mapper, writable, changes in work:
        if changes:
            _update(connection, writable, state, changes)
        if mapper.dispatch.after_update:  # for each object, changed or not, as the flush
            mapper.dispatch.after_update(mapper, connection, state)
    # As the flush's end does: values committed, unmodified, part of the transaction.
    session._register_persistent({state for state, *_ in work})


def _work(
    states: Iterable[InstanceState[Any]],
) -> list[tuple[InstanceState[Any], Mapper[Any], _Table, dict[str, Any]]] | None:
    """Each object with its mapper, its table's shape and its changed columns, or None when
    one of the changes is the ORM's flush's to write."""
    work = []
    for state in states:
        if state.key is None or state.deleted or state.was_deleted:
            return None
        mapper = state.mapper
        if mapper.dispatch.before_update:  # it may change the object: the ORM's to flush
            return None
        writable = _writable(mapper)
        if writable is None:
            return None
        changes = _changes(state, writable)
        if changes is None:
            return None
        work.append((state, mapper, writable, changes))
    return work


def _writable(mapper: Mapper[Any]) -> _Table | None:
    if mapper in _MAPPERS:
        return _MAPPERS[mapper]
    found = None
    table = mapper.local_table
    if (
        isinstance(table, Table)
        and mapper.inherits is None
        and len(mapper.tables) == 1
        and mapper.version_id_col is None
        and len(mapper.primary_key) == 1
        and not any(c.onupdate is not None or c.server_onupdate is not None for c in table.c)
    ):
        (key,) = mapper.primary_key
        columns = {}
        for prop in mapper.column_attrs:
            if len(prop.columns) == 1 and getattr(prop.columns[0], "table", None) is table:
                columns[prop.key] = prop.columns[0]
        found = _Table(table, key, {k: c for k, c in columns.items() if c is not key})
    _MAPPERS[mapper] = found
    return found


def _changes(state: InstanceState[Any], writable: _Table) -> dict[str, Any] | None:
    """The changed columns' new values by column name ({} for none), or None when the
    change is one for the ORM's flush."""
    values = state.dict
    manager = state.manager
    changes: dict[str, Any] = {}
    for attribute, before in state.committed_state.items():
        column = writable.columns.get(attribute)
        if column is None or attribute not in values:  # a key, a relationship, a deletion
            return None
        value = values[attribute]
        if isinstance(value, ClauseElement) or hasattr(value, "__clause_element__"):
            return None
        if manager[attribute].impl.is_equal(value, before) is not True:
            changes[column.key] = value
    return changes


def _update(
    connection: Connection, writable: _Table, state: InstanceState[Any], changes: dict[str, Any]
) -> None:
    names = tuple(sorted(changes))
    statement = _STATEMENTS.get((writable.table, names))
    if statement is None:
        if len(_STATEMENTS) >= _STATEMENTS_KEPT:
            _STATEMENTS.clear()
        statement = _STATEMENTS[writable.table, names] = (
            update(writable.table)
            .where(writable.key == bindparam(_KEY))
            .values({name: bindparam(name) for name in names})
        )
    identity = state.key
    assert identity is not None
    params = {**changes, _KEY: identity[1][0]}
    written = sqlite_reads.write(connection, statement, params)
    rowcount = (
        written.rowcount if written is not None else connection.execute(statement, params).rowcount
    )
    if rowcount != 1 and connection.dialect.supports_sane_rowcount:
        raise StaleDataError(
            f"UPDATE statement on table '{writable.table.name}' expected to update 1 row(s);"
            f" {rowcount} were matched."
        )
