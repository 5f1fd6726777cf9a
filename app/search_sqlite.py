"""The search index on SQLite: two FTS5 tables of folded text (see app.search) — messages and
notes in one, whose rowids grow with time, and the few other documents (subjects, visitors) in
another, so that a query can read message hits newest first and stop early."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import (
    Connection,
    Executable,
    Select,
    column,
    literal_column,
    select,
    table,
    text,
    union_all,
)
from sqlalchemy.sql.expression import ColumnClause

TABLE = "search_fts"  # messages and notes: rowid = message id * 8
META_TABLE = "search_meta_fts"  # subjects, names, e-mail addresses, handles
# One row: the newest message whose document is written; the messages stored since are indexed
# after their transaction, in batches (app.search_backlog).
MARK_TABLE = "search_mark"


# One document, written by the statement's caller: built once, so the hot path's driver-side
# writes (app.sqlite_reads) compile it once.
_PUT_ONE = {
    name: text(f"INSERT INTO {name} (rowid, ref, body) VALUES (:doc, :ref, :body)")  # noqa: S608 (a constant name)
    for name in (TABLE, META_TABLE)
}


def match_expression(words: Sequence[str]) -> str:
    """Every word quoted (so nothing in it is FTS5 syntax), all required, the last one a prefix
    — the word being typed. Words come from app.search.words: letters and digits only."""
    quoted = ['"' + w.replace('"', '""') + '"' for w in words]
    quoted[-1] += "*"
    return " ".join(quoted)


def _split(ids: Sequence[Any], doc: Any = lambda d: d) -> tuple[list[Any], list[Any]]:
    """Message documents (kind 0) apart from the others."""
    messages = [i for i in ids if doc(i) % 8 == 0]
    return messages, [i for i in ids if doc(i) % 8 != 0]


def _run(connection: Connection, sql: str, rows: Sequence[tuple[Any, ...]]) -> None:
    """One statement per row set; a single row (a message stored or edited, the usual case)
    as a plain execute, which app.sqlite_writes runs beside the rest of its transaction
    rather than as a bulk statement on the driver's thread."""
    if len(rows) == 1:
        connection.exec_driver_sql(sql, rows[0])
    elif rows:
        connection.exec_driver_sql(sql, list(rows))


class SqliteBackend:
    table = TABLE
    meta_table = META_TABLE
    mark_table: str | None = MARK_TABLE

    def create(self, connection: Connection) -> None:
        # The text is folded before it is stored, so the tokenizer's own diacritics removal only
        # repeats it; prefix indexes of 2 and 3 characters keep "ch…" and "cha…" quick.
        for name in (TABLE, META_TABLE):
            connection.exec_driver_sql(
                f"CREATE VIRTUAL TABLE IF NOT EXISTS {name} USING fts5(body, ref UNINDEXED,"
                " tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3')"
            )

    def drop(self, connection: Connection) -> None:
        for name in (TABLE, META_TABLE):
            connection.exec_driver_sql(f"DROP TABLE IF EXISTS {name}")

    def create_mark(self, connection: Connection) -> None:
        """The mark, at the newest message: every message so far has its document."""
        connection.exec_driver_sql(
            f"CREATE TABLE IF NOT EXISTS {MARK_TABLE}"
            " (id INTEGER PRIMARY KEY CHECK (id = 1), message_id INTEGER NOT NULL)"
        )
        connection.exec_driver_sql(
            f"INSERT OR IGNORE INTO {MARK_TABLE} (id, message_id)"  # noqa: S608 (a constant name)
            " SELECT 1, coalesce(max(id), 0) FROM message"
        )

    def lower_mark(self, connection: Connection) -> None:
        """The mark no higher than the newest message left (messages were deleted: SQLite
        gives the newest row's id to the next row)."""
        connection.exec_driver_sql(
            f"UPDATE {MARK_TABLE} SET message_id"  # noqa: S608 (a constant name)
            " = min(message_id, (SELECT coalesce(max(id), 0) FROM message))"
        )

    def put(self, connection: Connection, docs: Sequence[tuple[int, int, str]]) -> None:
        for name, part in zip((TABLE, META_TABLE), _split(docs, lambda d: d[0]), strict=True):
            _run(connection, f"INSERT INTO {name} (rowid, ref, body) VALUES (?, ?, ?)", part)  # noqa: S608 (a constant name)

    def put_one(self, doc: tuple[int, int, str]) -> tuple[Executable, dict[str, Any]]:
        doc_id, ref, body = doc
        name = TABLE if doc_id % 8 == 0 else META_TABLE
        return _PUT_ONE[name], {"doc": doc_id, "ref": ref, "body": body}

    def remove(self, connection: Connection, ids: Sequence[int]) -> None:
        for name, part in zip((TABLE, META_TABLE), _split(ids), strict=True):
            _run(connection, f"DELETE FROM {name} WHERE rowid = ?", [(i,) for i in part])  # noqa: S608 (a constant name)

    def _hits(self, name: str, words: Sequence[str]) -> Select[Any]:
        fts = table(name, column("rowid"), column("ref"), column("body"))
        query = (
            select(literal_column(f"{name}.rowid").label("doc"), fts.c.ref.label("ref"))
            .select_from(fts)
            .where(literal_column(name).op("MATCH")(match_expression(words)))
        )
        return cast(Select[Any], query)

    def message_hits(self, words: Sequence[str]) -> Select[Any]:
        return self._hits(TABLE, words)

    def meta_hits(self, words: Sequence[str]) -> Select[Any]:
        return self._hits(META_TABLE, words)

    def newest(self, words: Sequence[str], before: int | None, limit: int) -> Select[Any]:
        """Message hits newest first (rowid order, served by the index: no sort of every hit),
        below ``before``."""
        rowid: ColumnClause[int] = literal_column(f"{TABLE}.rowid")
        query = self.message_hits(words)
        if before is not None:
            query = query.where(rowid < before)
        return query.order_by(rowid.desc()).limit(limit)

    def among(self, words: Sequence[str], ids: Sequence[int]) -> Select[Any]:
        """The message documents of ``ids`` that match (each looked up by rowid)."""
        return self.message_hits(words).where(literal_column(f"{TABLE}.rowid").in_(list(ids)))

    def bodies(self, ids: Sequence[int], meta: bool = False) -> Select[Any]:
        """The stored folded text of the documents ``ids`` (read by rowid, no match)."""
        name = META_TABLE if meta else TABLE
        fts = table(name, column("rowid"), column("ref"), column("body"))
        rowid: ColumnClause[int] = literal_column(f"{name}.rowid")
        query = select(rowid.label("doc"), fts.c.ref, fts.c.body).select_from(fts)
        return query.where(rowid.in_(list(ids)))

    def hits(self, words: Sequence[str]) -> Select[Any]:
        both = union_all(self.message_hits(words), self.meta_hits(words)).subquery()
        return select(both.c.doc, both.c.ref)
