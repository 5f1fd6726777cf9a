"""Plain SQL on the test's database, whichever engine it is: ``connect(url)`` gives a
``sqlite3`` connection for SQLite and, for PostgreSQL, a connection with the same small
interface (``execute`` with ``?`` placeholders, ``fetchone``/``fetchall``, ``with db:``)
over asyncpg, run in a thread of its own so that async tests may call it too."""

from __future__ import annotations

import asyncio
import re
import sqlite3
import threading
from collections.abc import Coroutine, Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

T = TypeVar("T")
_PLACEHOLDER = re.compile(r"\?")


def connect(target: str | Path) -> Any:
    """A DB-API-like connection to a SQLite file or URL, or to a PostgreSQL URL."""
    text = str(target)
    if text.startswith(("postgresql", "postgres:")):
        return PostgresConnection(text)
    if "://" in text:
        text = text.split(":///", 1)[1]
    return sqlite3.connect(text)


def _as(kind: str, value: Any) -> Any:
    """A parameter as PostgreSQL's column wants it: SQLite's 0/1 for a boolean, its text for a
    time (as SQLAlchemy stores it there, UTC)."""
    if kind == "bool" and isinstance(value, int):
        return bool(value)
    if kind in ("timestamptz", "timestamp") and isinstance(value, str):
        parsed = datetime.fromisoformat(value)
        if kind == "timestamptz" and parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return parsed
    return value


class _Rows:
    def __init__(self, rows: list[tuple[Any, ...]], rowcount: int) -> None:
        self._rows = rows
        self.rowcount = rowcount

    def fetchone(self) -> tuple[Any, ...] | None:
        return self._rows.pop(0) if self._rows else None

    def fetchall(self) -> list[tuple[Any, ...]]:
        rows, self._rows = self._rows, []
        return rows

    def __iter__(self) -> Any:
        return iter(self.fetchall())


class PostgresConnection:
    """Each statement commits on its own (as the tests' ``with db:`` blocks expect by their end)."""

    def __init__(self, url: str) -> None:
        import asyncpg

        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._lock = threading.Lock()  # one statement at a time, whichever thread asks
        dsn = "postgresql://" + url.split("://", 1)[1]
        self._conn: Any = self._call(asyncpg.connect(dsn))

    def _call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        with self._lock:
            return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(60)

    def execute(self, sql: str, parameters: Sequence[Any] = ()) -> _Rows:
        counter = iter(range(1, len(parameters) + 1))
        statement = _PLACEHOLDER.sub(lambda _m: f"${next(counter)}", sql)
        return self._call(self._execute(statement, list(parameters)))

    async def _execute(self, statement: str, parameters: list[Any]) -> _Rows:
        prepared = await self._conn.prepare(statement)
        # Parameters as the column wants them: SQLite's 0/1 for a boolean.
        types = [t.name for t in prepared.get_parameters()]
        values = [_as(kind, v) for v, kind in zip(parameters, types, strict=True)]
        rows = await prepared.fetch(*values)
        status = prepared.get_statusmsg() or ""
        count = int(status.rsplit(" ", 1)[-1]) if status[-1:].isdigit() else len(rows)
        return _Rows([tuple(r) for r in rows], count)

    def commit(self) -> None:
        pass

    def close(self) -> None:
        if not self._loop.is_closed():
            self._call(self._conn.close())
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._loop.close()

    def __enter__(self) -> PostgresConnection:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        pass
